// The platform's player: opens a study session, then reports every few seconds what the page
// saw since the previous report (media ranges played, whether the page stayed visible, the video
// kept playing, or the reader was active). The server decides what counts and answers with
// the verified figures, or with why it refused (shown as it says).
(function () {
  "use strict";
  var root = document.getElementById("player");
  if (!root) { return; }
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var beatMs = Number(root.dataset.beatSeconds) * 1000;
  var idleMs = Number(root.dataset.idleSeconds) * 1000;
  var reading = root.dataset.kind === "reading";
  var media = document.getElementById("media");
  var MIN_GAP_MS = 1500; // the server refuses beats closer than a second apart
  var STOPPING = ["superseded", "expired", "bad_signature", "wrong_binding", "unknown_session"];

  var token = null;
  var seq = 0;
  var stopped = false;
  var lastBeatAt = 0;
  var pending = null;
  var inFlight = false;
  var ranges = [];
  var rangeStart = null;
  var lastTime = null;
  var lastInput = Date.now();
  var intervalVisible = !document.hidden;
  var intervalPlaying = false;

  function text(id, value) { var node = document.getElementById(id); if (node) { node.textContent = value; } }
  function message(value, isError) {
    var node = document.getElementById("study-message");
    node.textContent = value;
    node.className = isError ? "error" : "muted";
  }
  function show(data) {
    if (data.state_label) { text("study-state", data.state_label); }
    if (typeof data.percent === "number") { text("study-percent", String(data.percent)); }
    if (typeof data.verified_seconds === "number") { text("study-verified", String(data.verified_seconds)); }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  // Played ranges: contiguous stretches of timeupdate while playing; a jump (seek) starts a new one.
  function closeRange() {
    if (rangeStart !== null && lastTime !== null && lastTime > rangeStart) { ranges.push([rangeStart, lastTime]); }
    rangeStart = null;
  }
  function track() {
    if (!media || media.paused || media.seeking) { return; }
    var now = media.currentTime;
    if (rangeStart === null || lastTime === null || now < lastTime || now - lastTime > 3) {
      closeRange();
      rangeStart = now;
    }
    lastTime = now;
  }

  function report() {
    track();
    closeRange();
    var body = {
      token: token, seq: ++seq, ranges: ranges,
      position: media ? media.currentTime : window.scrollY,
      visible: intervalVisible && !document.hidden,
      playing: media ? intervalPlaying && !media.paused : false,
      active: reading ? Date.now() - lastInput < idleMs : false,
    };
    ranges = [];
    if (media && !media.paused) { rangeStart = media.currentTime; lastTime = media.currentTime; }
    intervalVisible = !document.hidden;
    intervalPlaying = !!media && !media.paused;
    return body;
  }

  function beat() {
    pending = null;
    if (stopped || !token || inFlight) { return; }
    inFlight = true;
    lastBeatAt = Date.now();
    post(root.dataset.beatUrl, report()).then(function (answer) {
      inFlight = false;
      show(answer.data);
      if (!answer.ok) {
        message(answer.data.detail || "未计时", true);
        if (STOPPING.indexOf(answer.data.code) >= 0) {
          stopped = true;
          if (media) { media.pause(); }
        }
        return;
      }
      if (answer.data.state === "completed") {
        message(answer.data.completed_now ? "已完成本课程，学时将由学习记录系统计入学时账本。" : "本课程已完成。", false);
      } else {
        message("", false);
      }
    }).catch(function () {
      inFlight = false;
      message("网络中断，恢复后继续计时", true);
    });
  }

  // A beat now if the last one was long enough ago, else as soon as it may be sent.
  function beatSoon() {
    if (pending !== null) { return; }
    var wait = Math.max(0, lastBeatAt + MIN_GAP_MS - Date.now());
    pending = window.setTimeout(beat, wait);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (Date.now() - lastBeatAt >= MIN_GAP_MS) { beat(); }
      intervalVisible = false;
    } else {
      beatSoon();
    }
  });
  ["keydown", "pointerdown", "pointermove", "scroll", "touchstart", "wheel"].forEach(function (name) {
    window.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
  });
  if (media) {
    media.addEventListener("timeupdate", track);
    media.addEventListener("seeking", function () { closeRange(); beatSoon(); });
    media.addEventListener("play", beatSoon);
    media.addEventListener("pause", function () { track(); intervalPlaying = false; beatSoon(); });
    media.addEventListener("waiting", function () { intervalPlaying = false; });
    media.addEventListener("ended", function () { lastTime = media.currentTime; beatSoon(); });
  }

  post(root.dataset.startUrl, {}).then(function (answer) {
    show(answer.data);
    if (!answer.ok) { message(answer.data.detail || "无法开始学习", true); return; }
    token = answer.data.token;
    lastBeatAt = Date.now();
    if (media && answer.data.position > 0) {
      var resume = function () {
        if (answer.data.position < media.duration - 1) { media.currentTime = answer.data.position; }
      };
      if (media.readyState >= 1) { resume(); } else { media.addEventListener("loadedmetadata", resume, { once: true }); }
    }
    if (answer.data.state === "completed") { message("本课程已完成，可以再次学习。", false); }
    window.setInterval(function () { if (Date.now() - lastBeatAt >= beatMs - 50) { beat(); } }, 500);
  });
}());
