"""Feedback and complaints (phản ánh, kiến nghị): categories and how fast they are answered.

Classification is by cue words (folded, so diacritics do not matter); the
staff console can re-file a ticket. Complaints about officials are the
sensitive kind: shown only to their author and to staff, never logged.
"""

from __future__ import annotations

import enum
import re

from common.text import fold_key


class Category(str, enum.Enum):
    CAN_BO = "can_bo"  # conduct of staff or officials
    CHAM_TRE = "cham_tre"  # a dossier handled late
    VI_PHAM_THI_TRUONG = "vi_pham_thi_truong"  # fake goods, unlicensed alcohol, price gouging...
    GOP_Y = "gop_y"  # a suggestion
    KHAC = "khac"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Category.CAN_BO: "phản ánh về cán bộ, công chức",
    Category.CHAM_TRE: "phản ánh giải quyết hồ sơ chậm, trễ hạn",
    Category.VI_PHAM_THI_TRUONG: "tố giác vi phạm trên thị trường",
    Category.GOP_Y: "góp ý, kiến nghị",
    Category.KHAC: "phản ánh khác",
}

# A market violation told as a fact (folded): it makes a message a complaint
# (common.dossier_questions.is_report) and files it as a market violation, one vocabulary for both.
VIOLATION_FACTS = (
    "bom thieu", "do thieu", "can thieu", "ban thieu", "bom khong du", "do khong du", "khong du lit", "thieu lit",
    "thieu xang", "khong du ky", "thieu ky", "thieu trong luong", "thieu khoi luong", "can dieu", "dong ho chay sai",
    "khong co tem", "khong tem", "ko tem", "khong dan tem", "sang chiet", "trai phep", "hang gia", "hang nhai",
    "hang lau", "nhap lau", "khong ro nguon goc", "ko ro nguon goc", "ban cho hoc sinh", "ban cho tre em",
    "ban cho tre vi thanh nien", "het han su dung", "khong niem yet", "ep gia", "tang gia vo ly",
    "bay ban cong khai", "xang pha", "dau pha", "xang bi pha", "pha tap", "pha tron", "pha nuoc",
    "selling fake", "fake goods", "short measure", "adulterated",
)

# Checked in this order: a complaint about an official who delays a dossier is about the official.
_CUES = {
    Category.CAN_BO: ["can bo", "cong chuc", "nhan vien", "thai do", "hach sach", "nhung nhieu", "tieu cuc",
                      "doi tien", "boi duong", "quat thao", "kho chiu", "thieu ton trong", "vo le", "lam kho"],
    Category.VI_PHAM_THI_TRUONG: ["hang gia", "hang nhai", "ruou gia", "ruou lau", "ruou khong ro nguon goc",
                                  "khong phep", "khong giay phep", "kem chat luong", "gian lan", "can dieu",
                                  "tang gia", "hang lau", "thuoc la lau", "xang gia", "xang kem", "hang cam",
                                  "het han su dung", "khong nhan mac", "ban pha gia", "dau co", *VIOLATION_FACTS],
    Category.CHAM_TRE: ["cham", "tre han", "qua han", "lau qua", "chua co ket qua", "chua giai quyet",
                        "tre hen", "doi mai", "het han ma"],
    Category.GOP_Y: ["gop y", "de xuat", "kien nghi", "de nghi", "nen co", "mong muon", "cai tien", "cai thien"],
}

# Decree 20/2008/ND-CP on handling feedback and petitions on administrative
# regulations: answered within 10 working days, up to 20 for complex matters.
ANSWER_WORKING_DAYS = 10


# Praise ("cán bộ một cửa rất tận tình") is feedback, not a complaint about the official it names.
_PRAISE = ("tan tinh", "nhiet tinh", "chu dao", "than thien", "de thuong", "vui ve", "khen", "hai long",
           "chuyen nghiep", "nhanh chong")
_NEGATIVE = ("khong", "ko", "chua", "cham", "te", "kem", "kho chiu", "hach", "gay kho", "doi tien", "thai do")


def classify(text: str) -> Category:
    key = f" {fold_key(re.sub(r'[^0-9A-Za-zÀ-ỹđĐ ]', ' ', text))} "
    if any(f" {p} " in key for p in _PRAISE) and not any(f" {n} " in key for n in _NEGATIVE):
        return Category.GOP_Y
    for category, cues in _CUES.items():
        if any(f" {cue} " in key for cue in cues):
            return category
    return Category.KHAC


class TicketStatus(str, enum.Enum):
    """Where a ticket stands; the labels are what citizens and staff read."""

    MOI = "moi"
    DANG_XU_LY = "dang_xu_ly"
    DA_TRA_LOI = "da_tra_loi"
    DA_DONG = "da_dong"
    KHONG_PHAI_PHAN_ANH = "khong_phai_phan_anh"

    @property
    def label(self) -> str:
        return _TICKET_LABELS[self]


_TICKET_LABELS = {
    TicketStatus.MOI: "mới tiếp nhận",
    TicketStatus.DANG_XU_LY: "đang xử lý",
    TicketStatus.DA_TRA_LOI: "đã trả lời",
    TicketStatus.DA_DONG: "đã đóng",
    TicketStatus.KHONG_PHAI_PHAN_ANH: "không phải phản ánh, kiến nghị",
}

# Still waiting for the department: listed first to staff, counted as open.
OPEN_TICKETS = (TicketStatus.MOI, TicketStatus.DANG_XU_LY)
# What an answer may leave the ticket in (an interim answer keeps it in progress).
AFTER_ANSWER = (TicketStatus.DA_TRA_LOI, TicketStatus.DANG_XU_LY, TicketStatus.DA_DONG)


def ticket_label(status: str) -> str:
    """The label of a stored status value (the value itself when unknown)."""
    try:
        return TicketStatus(status).label
    except ValueError:
        return status
