// Optional: scan a member's personal QR code with the camera where the browser offers
// BarcodeDetector (Chrome on Android). Elsewhere the organiser types the member number.
(function () {
  "use strict";
  var button = document.getElementById("scan");
  var field = document.getElementById("member_code");
  var video = document.getElementById("scan-video");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (stream) {
        video.srcObject = stream; video.hidden = false; video.play();
        function look() {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              field.value = codes[0].rawValue;
              stream.getTracks().forEach(function (t) { t.stop(); });
              video.hidden = true;
              field.form.submit();
            } else { requestAnimationFrame(look); }
          }).catch(function () { requestAnimationFrame(look); });
        }
        look();
      });
  });
})();
