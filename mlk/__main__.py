from mlk.cli import main

main()
