"""The retriever sees a staff edit of the knowledge base without a restart."""

from __future__ import annotations

import time
from pathlib import Path

from knowledge.loader import data_dir
from knowledge.retrieval import retriever_for
from scripts.localstack import copy_content

QUESTION = "điện mặt trời áp mái có cần giấy phép không"


def test_an_edited_answer_is_answered_after_the_next_look(tmp_path: Path) -> None:
    directory = copy_content(tmp_path) / "knowledge"
    assert data_dir(str(tmp_path)) == directory
    first = retriever_for(directory).answer(QUESTION)
    assert first is not None and first.entry.id == "dien_mat_troi_giay_phep"
    path = directory / "dien.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Điện mặt trời mái nhà tự sản xuất, tự tiêu thụ",
                                 "ĐÃ SỬA: điện mặt trời mái nhà tự sản xuất, tự tiêu thụ", 1), encoding="utf-8")
    time.sleep(1.05)
    hit = retriever_for(directory).answer(QUESTION)
    assert hit is not None and hit.entry.answer.startswith("ĐÃ SỬA:")
    path.write_text("topic: [broken\n", encoding="utf-8")
    time.sleep(1.05)
    kept = retriever_for(directory).answer(QUESTION)
    assert kept is not None and kept.entry.answer.startswith("ĐÃ SỬA:")  # the last good base stays
