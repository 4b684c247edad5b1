import VLabCLI
