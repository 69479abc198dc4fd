"""Raft: the pure consensus core, its log and progress tracking, and the actor that hosts it."""
