"""The shared core of the kitchen hub: model, pure rules, events, codec, Redis and SQL layout."""
