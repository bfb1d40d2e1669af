"""The history of stored data: numbered SQL files (``sql/``), event upcasters, renamed topics.

Nothing here imports the application: these are facts about data already written.
"""
