"""Policy questions and answers (hỏi đáp chính sách): data files, loader, retrieval, rendering.

``knowledge/data/*.yml`` hold the entries, one file per topic, edited by staff in
pull requests (later in the console). :mod:`knowledge.loader` reads and checks
them, :mod:`knowledge.retrieval` finds the entry a question means, and
:mod:`knowledge.answer` words the reply for chat and SMS. No Rasa imports.
"""
