"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  let session = localStorage.getItem("sct-session");
  if (!session) {
    session = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");
    localStorage.setItem("sct-session", session);
  }

  function add(kind, text, buttons) {
    const li = document.createElement("li");
    li.className = kind;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    li.appendChild(bubble);
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of buttons) {
        const btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.addEventListener("click", () => send(b.payload, b.title));
        row.appendChild(btn);
      }
      li.appendChild(row);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  async function send(text, shown) {
    add("user", shown || text);
    try {
      const resp = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ session, text }),
      });
      const data = await resp.json();
      if (!resp.ok) { add("error", data.error || "Đã có lỗi xảy ra."); return; }
      if (!data.messages.length) add("bot", "…");
      for (const m of data.messages) add("bot", m.text, m.buttons);
    } catch (e) {
      add("error", "Không kết nối được máy chủ, anh/chị vui lòng thử lại.");
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  add("bot", "Xin chào! Anh/chị hãy nhập mã hồ sơ (ví dụ 000.00.12.H17-200115-0001) hoặc đặt câu hỏi về thủ tục.");
})();
