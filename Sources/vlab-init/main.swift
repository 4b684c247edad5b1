// The container init the runtime re-executes inside the new namespaces: only the runtime's
// own code and FoundationEssentials, so it starts in a fraction of the time the whole `vlab`
// binary (argument parser, emulator, grader, full Foundation) takes to load.
import Containers

ContainerInit.main()
