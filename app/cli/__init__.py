"""The command line: the headless run, the corruption tools, and the GUI's entry."""
