/// Hooks for a VMM that runs guests on this hart in U-mode (Sources/HypervisorCore).
extension Machine {
    /// Drops the hart's LR/SC reservation, as taking a trap does. A VMM calls it when it delivers
    /// a trap to its guest itself (the hart's own trap entry was intercepted), and before it runs a
    /// different guest, so no guest's SC.W can succeed on another's reservation.
    public func clearReservation() {
        state.pointee.reservation = nil
    }

    /// Reserves a word, as LR.W at that (virtual) address does: for a VMM that emulated the LR.W,
    /// so the guest's following SC.W, executed or emulated, sees the reservation.
    public func reserve(_ virtualAddress: UInt32) {
        state.pointee.reservation = virtualAddress
    }
}
