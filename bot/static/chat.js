"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  // The gateway issues (and signs) the session; it is kept across reloads. One it refuses
  // (from before a key change, or not issued by it) is replaced transparently.
  const SESSION_KEY = "sct-session";
  let session = localStorage.getItem(SESSION_KEY);
  let pushSource = null;  // the open push stream, reopened for a new session
  let pushRenewals = 0;
  async function newSession() {
    const resp = await fetch("/api/session", { method: "POST" });
    const data = await resp.json();
    if (!resp.ok) throw Object.assign(new Error("session"), { shown: data.error });
    session = data.session;
    localStorage.setItem(SESSION_KEY, session);
    if (pushSource) listenForPushes();
  }

  // Each message has an id of its own, kept when it is sent again after a dropped connection,
  // so the gateway books, rates or files a ticket for it only once.
  function messageId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));  // also outside secure contexts
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function post(payload) {
    if (!session) await newSession();
    const message = { ...payload, message_id: messageId() };
    for (let attempt = 0, dropped = 0; ; attempt++) {
      let resp;
      try {
        resp = await fetch("/api/chat", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ session, ...message }),
        });
      } catch (e) {
        if (++dropped > 1) throw e;
        await new Promise((r) => setTimeout(r, 1500));
        continue;
      }
      const data = await resp.json();
      if (resp.status === 401 && data.code === "session_refused" && attempt === 0) { await newSession(); continue; }
      return { resp, data };
    }
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
      const { resp, data } = await post(location ? { text, location } : { text });
      if (!resp.ok) { add("error", data.error || "Đã có lỗi xảy ra."); return; }
      if (!data.messages.length && !data.to_staff) add("bot", "…");
      for (const m of data.messages) add("bot", m.text, m.buttons, m.request_location);
      if (data.messages.length && text !== UNHELPFUL) offerUnhelpful();
    } catch (e) {
      add("error", e.shown || "Không kết nối được máy chủ, anh/chị vui lòng thử lại.");
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
  async function listenForPushes() {
    if (!session) await newSession();
    if (pushSource) pushSource.close();
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
    pushSource = source;
    // A refused session (an old token after a key change) gets a fresh one and a new stream.
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && pushRenewals++ < 3) newSession().catch(() => {});
    });
  }
  listenForPushes().catch(() => {});
})();
