"""The master: the Raft member that holds the job table and, when leading, schedules."""
