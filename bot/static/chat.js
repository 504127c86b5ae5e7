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

  // The citizen may say the last answer did not help: the question goes to the staff's NLU inbox.
  const UNHELPFUL = "/chuahuuich";
  function offerUnhelpful() {
    for (const old of log.querySelectorAll(".unhelpful")) old.remove();
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "unhelpful";
    btn.textContent = "Câu trả lời chưa hữu ích";
    btn.addEventListener("click", () => { btn.remove(); send(UNHELPFUL, "Câu trả lời chưa hữu ích"); });
    log.lastElementChild.appendChild(btn);
  }

  function shareLocation() {
    if (!navigator.geolocation) { add("error", "Trình duyệt không hỗ trợ chia sẻ vị trí; anh/chị hãy nhập tên phường."); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => send("/tim_dia_diem", "📍 Vị trí của tôi", { latitude: pos.coords.latitude, longitude: pos.coords.longitude }),
      () => add("error", "Không lấy được vị trí; anh/chị hãy nhập tên phường, ví dụ: phường Hải Châu."),
    );
  }

  function add(kind, text, buttons, requestLocation) {
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
    if (requestLocation) {
      const row = document.createElement("div");
      row.className = "buttons";
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = "📍 Gửi vị trí của tôi";
      btn.addEventListener("click", shareLocation);
      row.appendChild(btn);
      li.appendChild(row);
    }
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  async function send(text, shown, location) {
    add("user", shown || text);
    try {
      const resp = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(location ? { session, text, location } : { session, text }),
      });
      const data = await resp.json();
      if (!resp.ok) { add("error", data.error || "Đã có lỗi xảy ra."); return; }
      if (!data.messages.length && !data.to_staff) add("bot", "…");
      for (const m of data.messages) add("bot", m.text, m.buttons, m.request_location);
      if (data.messages.length && text !== UNHELPFUL) offerUnhelpful();
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

  // -- Pushed messages: staff replies, status changes, ticket answers (Server-Sent Events). ----------
  // Written against "the session id the page has": pushSession() is the one place that reads it.
  // The id of the last message shown is kept, so a reopened page shows only what came meanwhile.
  function pushSession() { return session; }
  function listenForPushes() {
    const current = pushSession();
    const key = "sct-push-last:" + current;
    const after = localStorage.getItem(key) || "0";
    const source = new EventSource("/api/push?session=" + encodeURIComponent(current) + "&after=" + encodeURIComponent(after));
    source.addEventListener("message", (ev) => {
      const m = JSON.parse(ev.data);
      localStorage.setItem(key, ev.lastEventId);
      add(m.kind === "staff" ? "bot staff" : "bot", m.text, m.buttons, m.request_location);
      if (m.kind === "staff") {
        const label = document.createElement("span");
        label.className = "from";
        label.textContent = "Cán bộ Sở Công Thương";
        log.lastElementChild.prepend(label);
      }
    });
    return source;
  }
  listenForPushes();
})();
