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
        throw ContainerError("Lab 07: Lab07RootSwitch.switchRoot is not written yet (pivot_root into \(newRoot), then detach the old root)")
    }
}
