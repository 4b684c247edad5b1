// The runtime's vocabulary (configuration, errors, syscall wrappers, the step protocols)
// lives in ContainerSupport so that Lab 07 can build on it without seeing the answers
// here; users of Containers get both with one import.
@_exported import ContainerSupport
