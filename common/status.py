"""The dossier status vocabulary shared by the API, the bot and the SMS gateway."""

from __future__ import annotations

import enum


class DossierStatus(str, enum.Enum):
    """Statuses of an administrative dossier, with their Vietnamese labels."""

    MOI_TIEP_NHAN = "moi_tiep_nhan"
    DANG_XU_LY = "dang_xu_ly"
    CHO_BO_SUNG = "cho_bo_sung"
    DA_CO_KET_QUA = "da_co_ket_qua"
    DA_TRA_KET_QUA = "da_tra_ket_qua"
    TRE_HAN = "tre_han"
    TU_CHOI = "tu_choi"

    @property
    def label(self) -> str:
        """The Vietnamese label shown to citizens."""
        return _LABELS[self]


_LABELS = {
    DossierStatus.MOI_TIEP_NHAN: "mới tiếp nhận",
    DossierStatus.DANG_XU_LY: "đang xử lý",
    DossierStatus.CHO_BO_SUNG: "chờ bổ sung",
    DossierStatus.DA_CO_KET_QUA: "đã có kết quả",
    DossierStatus.DA_TRA_KET_QUA: "đã trả kết quả",
    DossierStatus.TRE_HAN: "trễ hạn",
    DossierStatus.TU_CHOI: "từ chối",
}


class RatingLevel(str, enum.Enum):
    """Satisfaction levels (values of the ``muc_do`` entity)."""

    HAI_LONG = "hai_long"
    BINH_THUONG = "binh_thuong"
    KHONG_HAI_LONG = "khong_hai_long"

    @property
    def label(self) -> str:
        """The Vietnamese label shown to citizens."""
        return {
            RatingLevel.HAI_LONG: "hài lòng",
            RatingLevel.BINH_THUONG: "bình thường",
            RatingLevel.KHONG_HAI_LONG: "không hài lòng",
        }[self]
