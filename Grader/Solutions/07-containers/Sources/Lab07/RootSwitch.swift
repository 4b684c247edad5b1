import CContainers
import ContainerSupport

/// Step 2: the root switch.
///
/// `switchRoot(to:)` runs in the container's init, inside its mount namespace, once the new root
/// is fully assembled at `newRoot` (the overlay of the image's layers, with /proc, /dev and /tmp
/// mounted in it). Afterwards "/" must be `newRoot`, the working directory must be inside it, and
/// the host's root must be gone from the container's mount table: not merely out of sight, as a
/// `chroot(2)` leaves it, but detached, so no descriptor, `..` or second chroot can climb back.
public struct Lab07RootSwitch: RootSwitchStep {
    public init() {}

    public func switchRoot(to newRoot: String) throws(ContainerError) {
        // BEGIN SOLUTION
        // STUB: throw ContainerError("Lab 07: Lab07RootSwitch.switchRoot is not written yet (pivot_root into \(newRoot), then detach the old root)")
        // pivot_root(2) needs the new root to be a mount point (the overlay is) and moves the old
        // root to put_old. With "." for both, the old root ends up stacked on top of the new one
        // at "/", so no put_old directory has to exist in the image (it may be read-only).
        try Kernel.chdir(newRoot)
        try Kernel.pivotRoot(".", putOld: ".")
        // "/" now names the old root (the top of the stack): detach it, and the whole host tree
        // under it, from this mount table. MNT_DETACH because the host's mounts are busy.
        try Kernel.unmount(".", detach: true)
        try Kernel.chdir("/")
        // END SOLUTION
    }
}
