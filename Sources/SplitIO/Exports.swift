// The split-driver protocol pieces (memory, grants, event channels, ring layout, blkif, the raw
// disk image and the frontend) live in SplitIOSupport, so that Lab 06 can build a backend on them
// without seeing this module's answer (BackRing, BlockBackend). Everything that imports SplitIO
// keeps seeing them as before.
@_exported import SplitIOSupport

