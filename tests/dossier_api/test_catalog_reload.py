"""The API serves the catalog from its data file and sees a staff edit within a second, without
a restart; a file that no longer loads keeps the last good catalog."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dossier_api.catalog import CatalogSource, catalog_file
from dossier_api.server import create_app
from scripts.localstack import copy_content


def _set_fee(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text.replace(old, new, 1), encoding="utf-8")
    tmp.replace(path)  # as the console writes: an atomic swap


def test_the_content_dir_names_the_catalog_file(tmp_path: Path) -> None:
    assert catalog_file(str(tmp_path)) == tmp_path / "procedures.yml"
    assert catalog_file("").name == "procedures.yml" and catalog_file("").parent.name == "data"


def test_a_source_reloads_a_changed_file_and_keeps_the_last_good_one(tmp_path: Path) -> None:
    path = copy_content(tmp_path) / "procedures.yml"
    source = CatalogSource(path, every_s=0.05)
    assert source.refresh().get("ban_le_xang_dau").fee_vnd == 1200000
    _set_fee(path, "le_phi_vnd: 1200000", "le_phi_vnd: 1250000")
    time.sleep(0.06)
    assert source.refresh().get("ban_le_xang_dau").fee_vnd == 1250000
    path.write_text("- id: [broken\n", encoding="utf-8")
    time.sleep(0.06)
    assert source.refresh().get("ban_le_xang_dau").fee_vnd == 1250000


async def test_the_api_serves_the_edited_fee_within_seconds(tmp_path: Path, seeded_db: Path) -> None:
    path = copy_content(tmp_path / "content") / "procedures.yml"
    client = TestClient(TestServer(create_app(str(seeded_db), catalog_path=path)))
    await client.start_server()
    try:
        before = await (await client.get("/api/v1/procedures/ban_buon_ruou")).json()
        assert before["fee_vnd"] == 2200000
        _set_fee(path, "Phí thẩm định 2.200.000 đồng/điểm kinh doanh/lần thẩm định\"\n  le_phi_vnd: 2200000",
                 "Phí thẩm định 2.400.000 đồng/điểm kinh doanh/lần thẩm định\"\n  le_phi_vnd: 2400000")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            after = await (await client.get("/api/v1/procedures/ban_buon_ruou")).json()
            if after["fee_vnd"] == 2400000:
                break
            await asyncio.sleep(0.1)
        assert after["fee_vnd"] == 2400000 and "2.400.000" in after["fee"]
        hits = await (await client.get("/api/v1/procedures", params={"q": "bán buôn rượu"})).json()
        assert hits[0]["procedure"]["fee_vnd"] == 2400000
    finally:
        await client.close()
