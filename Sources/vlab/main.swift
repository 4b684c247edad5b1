import VLabCLI

VLab.main()
