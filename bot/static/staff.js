"use strict";
// Staff console: confirmations before changing the live model, and the training progress bar.
(function () {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }

  const box = document.getElementById("training");
  if (!box || box.dataset.running !== "true") return;
  const bar = document.getElementById("training-progress");
  const message = document.getElementById("training-message");
  async function poll() {
    try {
      const resp = await fetch("/staff/api/training/" + encodeURIComponent(box.dataset.job), { headers: { Accept: "application/json" } });
      if (resp.status === 401) { window.location.href = "/staff/login"; return; }
      const job = await resp.json();
      bar.value = job.progress;
      message.textContent = job.message;
      if (job.state === "done") { window.location.href = "/staff/models/" + encodeURIComponent(job.id); return; }
      if (job.state === "failed") { window.location.reload(); return; }
    } catch (e) {
      message.textContent = "Mất kết nối tới máy chủ, đang thử lại…";
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
