"""The web screens: kitchen station and expo tablets, diner phone pages, merchant board."""
