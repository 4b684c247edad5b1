// The container init for Lab 07: the runtime clones a child into the new namespaces and the
// child re-executes this program, which runs the runtime's init with *your* steps (Lab07.steps)
// in place of the reference ones. You do not need to change this file.
import Containers
import Lab07

ContainerInit.main(steps: Lab07.steps)
