"""A local SMSC for development and tests: node-smpp server + Python control client."""
