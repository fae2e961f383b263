"""A host's side of guest networking: which bridge and tap device each port uses, and
plugging them (recorded on simulated hosts)."""
