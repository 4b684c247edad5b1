// The container init the runtime re-executes inside the new namespaces when the setup cannot be
// planned in advance (a lab's own steps, the escape probes, OCI `create`, the chroot teaching
// mode; `run` and `start` with the reference steps skip it: see ChildPlan). Only the runtime's
// own code and FoundationEssentials, so it starts in a fraction of the time the whole `vlab`
// binary (argument parser, emulator, grader, full Foundation) takes to load.
import Containers

ContainerInit.main()
