from ftclient.cli import main

main()
