"""Official list feeds: ``txscreen lists fetch`` downloads, verifies and installs the publishers' files.

* :mod:`streams.feeds.sources` — which feeds exist, their publishers' URLs and where each lands;
* :mod:`streams.feeds.download` — HTTPS downloads (proxy variables honoured) to a staging folder;
* :mod:`streams.feeds.verify` — a staged copy loads with its reader, has entities, has not shrunk;
* :mod:`streams.feeds.diff` — what changed from the previous copy, by entity id and content hash;
* :mod:`streams.feeds.fetch` — the whole run: all feeds staged and verified, then all installed, or none.
"""
