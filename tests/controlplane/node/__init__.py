"""The test cluster's node agent (a stand-in for the kubelet): see agent.py."""
