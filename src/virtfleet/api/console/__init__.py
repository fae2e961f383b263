"""The console proxy of the control plane (serial websocket, noVNC) and its files."""
