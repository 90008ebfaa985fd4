from surveyor.cli import main

main()
