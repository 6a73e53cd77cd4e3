"""Read-only views for people: the data a report needs, and its renderers (HTML, Excel, CSV,
Word, graph text). Nothing here writes to the database, prints or imports the CLI."""
