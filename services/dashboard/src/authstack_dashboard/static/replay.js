// Plays the events the page carries (a JSON data block) with rrweb's vendored player.
(function () {
  "use strict";
  var target = document.getElementById("replay-player");
  var data = document.getElementById("replay-events");
  if (!target || !data || typeof window.rrwebPlayer === "undefined") return;
  var events = JSON.parse(data.textContent || "[]");
  var width = Math.min(1024, target.clientWidth || 1024);
  var Player = window.rrwebPlayer.default || window.rrwebPlayer;
  window.replayPlayer = new Player({
    target: target,
    props: { events: events, width: width, height: Math.round(width * 0.56), autoPlay: false },
  });
  target.setAttribute("data-ready", "true");
})();
