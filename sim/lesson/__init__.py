"""The lesson in a browser: the classroom journey as a page where students pull the levers.

* :mod:`.labels`: every word the page shows, in Simplified Chinese and English (one table);
* :mod:`.journey`: a run's frames (:mod:`sim.demo`) as compact JSON, and the levers checked;
* :mod:`.page`: the one HTML page (SVG seat map, controls, panels), for the server and offline;
* :mod:`.server`: the local web server (Flask) that re-simulates a train when a lever moves;
* :mod:`.offline`: ``--save``: one self-contained page carrying a grid of journeys;
* :mod:`.plan`: the lesson plan of docs/classroom.md as data: experiments, tables, claims.

Nothing here prints or touches results/; the command line (:mod:`sim.cli.classroom`) does.
"""
