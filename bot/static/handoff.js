"use strict";
// Staff console, handoff pages: the transcript follows the conversation (polled), canned replies
// fill the reply box, and the queue refreshes itself.
(function () {
  const canned = document.getElementById("canned");
  const form = document.getElementById("reply-form");
  if (canned && form) {
    canned.addEventListener("change", () => {
      if (canned.value) form.elements.text.value = canned.value;
      form.elements.text.focus();
    });
  }

  // Refresh by loading the page's own address, never by reload(): a refusal (a claim someone else won,
  // a reply too long for SMS) is shown at the address the form posted to, and reloading that would
  // post the form again (or stop at the browser's "resubmit?" prompt, the queue frozen).
  if (document.getElementById("handoff-queue")) {
    const refused = document.querySelector("#handoff-queue .error");
    setTimeout(() => window.location.assign("/staff/handoffs"), refused ? 15000 : 5000);  // new citizens join
    return;
  }

  const list = document.getElementById("transcript");
  const status = document.getElementById("handoff-status");
  if (!list) return;
  const ref = list.dataset.ref;
  let shown = list.children.length;
  let state = null;

  function render(line) {
    const li = document.createElement("li");
    li.className = line.by;
    const who = document.createElement("strong");
    who.textContent = line.who;
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = " " + line.time + (line.note ? " " + line.note : "");
    li.append(who, when, document.createElement("br"), document.createTextNode(line.text));
    return li;
  }

  // The session ended while the staff member may be typing a reply: leaving for the sign-in page would
  // lose it. With text in the box, stay and say so; "Gửi" keeps it for them across the sign-in
  // (the console's kept forms, /staff/draft).
  function signedOut() {
    if (!form || !form.elements.text.value.trim()) { window.location.href = "/staff/login"; return; }
    const notice = document.createElement("p");
    notice.className = "error";
    notice.id = "signed-out";
    notice.textContent = "Phiên đăng nhập đã hết hạn. Nội dung anh/chị đang viết vẫn còn: bấm “Gửi”, " +
      "đăng nhập lại rồi gửi tiếp.";
    form.prepend(notice);
  }

  async function poll() {
    try {
      const resp = await fetch("/staff/api/handoffs/transcript?ref=" + encodeURIComponent(ref),
                               { headers: { Accept: "application/json" } });
      if (resp.status === 401) { signedOut(); return; }
      const data = await resp.json();
      if (data.lines.length !== shown) list.replaceChildren(...data.lines.map(render));
      const due = document.getElementById("handoff-due");
      if (due && typeof data.due === "string") due.textContent = data.due;  // a reply moves the deadline
      shown = data.lines.length;
      if (state !== null && data.state !== state) {  // claimed, ended, timed out
        window.location.assign("/staff/handoffs/view?ref=" + encodeURIComponent(ref));
        return;
      }
      state = data.state;
    } catch (e) {
      if (status) status.dataset.offline = "true";
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
