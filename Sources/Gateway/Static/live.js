// Live updates for HealthHub's signed-in pages: a WebSocket to /live (same origin, the session
// cookie), which sends the events about the records this page's reader may see. On one, the
// page says so in a polite live region with a link to reload; without WebSocket (or script)
// the pages work the same by reloading. After a drop it reconnects with backoff and asks for
// what it missed (?after=<last seq seen>).
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box || !window.WebSocket) return;
  var after = box.getAttribute("data-after") || "";
  var delay = 1000;
  function show() {
    box.hidden = false;
  }
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live" + (after ? "?after=" + encodeURIComponent(after) : "");
    var socket = new WebSocket(url);
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (message) {
      try {
        var event = JSON.parse(message.data);
        if (event.seq) after = String(event.seq);
        show();
      } catch (e) { /* not ours */ }
    };
    socket.onclose = function () {
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
