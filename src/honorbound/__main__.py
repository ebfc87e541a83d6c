from honorbound.cli import main

main()
