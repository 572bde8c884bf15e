"""A workspace: storage, versioned assets, the desired state of endpoints, their keys. No processes here."""
