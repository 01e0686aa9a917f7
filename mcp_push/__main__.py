from mcp_push.cli import main

raise SystemExit(main())
