"""Applications (画像应用) over a published snapshot: profiles, catalog views, segments, insight, ..."""
