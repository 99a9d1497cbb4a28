from gptoss_desktop.cli import main

raise SystemExit(main())
