"""The campaign simulator's parts: the world it invents (directory, enterprises, words), the
engine that plays a campaign day by day, and the two ways its commands reach the store (one
command per transaction through the services, or in bulk). ``lianxin.simulate`` is the entry."""
