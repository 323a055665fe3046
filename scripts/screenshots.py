"""Screenshots of the main pages for docs/screenshots/ (run by scripts/screenshots, never by the
tests, so a CI run leaves the tree clean). Starts its own `healthhub serve` on a fresh SQLite
file with the demo data, signs in as the demo patient and the demo clinician in headless
Chromium, and saves a PNG of each page."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "interop"))

from selenium.webdriver.common.by import By  # noqa: E402

import test_pages_browser as pages_tests  # noqa: E402  (the browser and TOTP helpers)
from conftest import HealthHubServer  # noqa: E402


def main(out: Path, workdir: Path) -> None:
    server = HealthHubServer("sqlite", workdir)
    server.prepare_database()
    server.cli("demo", "--patients", "10")
    server.env_extra = {"HEALTHHUB_TIMEZONE": "America/New_York", "HEALTHHUB_GEO": "off"}
    server.start()
    creds = pages_tests.credentials(server)
    driver = pages_tests.make_browser()
    try:
        shots = pages_tests.Pages(driver, server.root)
        shots.open("/")
        driver.save_screenshot(str(out / "landing.png"))
        shots.sign_in(creds["patient"]["email"], creds["patient"]["password"])
        for name, path in [("portal-home", "/portal"), ("portal-records", "/portal/records")]:
            shots.open(path)
            driver.save_screenshot(str(out / f"{name}.png"))
        shots.open("/portal/appointments")
        gp = creds["practitioner"]["link"].split("/")[1]
        driver.find_element(By.CSS_SELECTOR, f"#practitioner option[value='{gp}']").click()
        driver.find_element(By.CSS_SELECTOR, "form[action='/portal/appointments'] button").click()
        driver.save_screenshot(str(out / "portal-appointments.png"))
        driver.find_element(By.CSS_SELECTOR, "input[name=slot]").click()
        driver.find_element(By.CSS_SELECTOR, "form[action='/portal/appointments/book'] > button").click()
        shots.open("/portal/messages")
        driver.find_element(By.ID, "topic").send_keys("Refill of my inhaler")
        driver.find_element(By.ID, "text").send_keys("Could you renew it before Friday? Thank you.")
        driver.find_element(By.CSS_SELECTOR, "form[action='/portal/messages'] button").click()
        driver.save_screenshot(str(out / "portal-message.png"))
        shots.sign_out()
        pages_tests.enrol_clinician(shots, creds["practitioner"])
        shots.open("/console/inbox")
        driver.save_screenshot(str(out / "console-inbox.png"))
        booked = server.get(f"Appointment?status=booked&actor={creds['practitioner']['link']}&_count=1").json()["entry"][0]["resource"]["start"]
        day = (datetime.fromisoformat(booked.replace("Z", "+00:00")) - timedelta(days=1)).date().isoformat()
        shots.open(f"/console?view=week&date={day}")
        driver.save_screenshot(str(out / "console-schedule.png"))
        driver.find_element(By.CSS_SELECTOR, "main table a[href^='/console/patients/']").click()
        driver.save_screenshot(str(out / "console-chart.png"))
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
