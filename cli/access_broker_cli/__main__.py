from access_broker_cli.main import main

main()
