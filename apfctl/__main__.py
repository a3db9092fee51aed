from apfctl.cli import main

main()
