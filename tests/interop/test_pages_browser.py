"""The pages in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven with Selenium, against a real `healthhub serve` with the demo data, on SQLite and on
PostgreSQL. Every page visited is checked with axe-core (WCAG 2.1 A and AA: 0 violations); the
patient's booking journey is also done with the keyboard alone. An admin invites a patient, whose
invitation email (to an SMTP server on loopback, aiosmtpd) opens the page that sets the password.

Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import socket
import struct
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait
from selenium.common.exceptions import WebDriverException

from conftest import HealthHubServer, HEALTHHUB_BIN

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_source() -> str:
    import axe_playwright_python  # ships a current axe-core (4.x) as a plain file

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def totp(secret_b32: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), as authenticator apps compute it."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def credentials(server: HealthHubServer) -> dict[str, dict[str, str]]:
    """The demo accounts (`data/demo-credentials.txt`) by role, with the record each links to."""
    text = (server.workdir / "data" / "demo-credentials.txt").read_text()
    creds = {line.split(":")[0]: dict(re.findall(r"(\w+)=(\S+)", line)) | {"email": line.split()[1]}
             for line in text.splitlines() if "@demo.healthhub.test" in line}
    for line in server.cli("users", "list").splitlines():
        email, _, link = line.split("\t")[:3]
        for role in creds:
            if creds[role]["email"] == email:
                creds[role]["link"] = link
    return creds


class Mailbox:
    """What the server sends by email (an aiosmtpd server on loopback keeps it)."""

    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def link(self, to: str, timeout: float = 10) -> str:
        """The account link in the newest email to `to`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for rcpt, text in reversed(self.messages):
                found = re.search(r"https?://\S+/account/password\?token=[\w-]+", text)
                if rcpt == [to] and found:
                    return found.group(0)
            time.sleep(0.1)
        raise AssertionError(f"no account link was mailed to {to}")


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    # (aiosmtpd checks that it is up by connecting to the port it was given, so not port 0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request, tmp_path_factory, mailbox):
    """A server with the demo data (5 patients, the demo accounts), and its credentials."""
    server = HealthHubServer(request.param, tmp_path_factory.mktemp(f"hhb-{request.param}"))
    server.prepare_database()
    server.cli("demo", "--patients", "5")
    server.env_extra = {
        "HEALTHHUB_TIMEZONE": "America/New_York", "HEALTHHUB_GEO": "off",
        "HEALTHHUB_SMTP_URL": f"smtp://127.0.0.1:{mailbox[1]}", "HEALTHHUB_MAIL_FROM": "accounts@clinic.example.org"}
    server.start()
    yield server, credentials(server)
    server.stop()
    server.drop_database()


def make_browser():
    """Headless Chromium through Debian's chromedriver."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(f"no Chromium at {CHROMIUM} / {CHROMEDRIVER}: scripts/test installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    return driver


@pytest.fixture
def browser():
    driver = make_browser()
    yield driver
    driver.quit()


class Pages:
    """A browser on the site, checking every page it lands on with axe-core."""

    def __init__(self, driver, root: str):
        self.driver = driver
        self.root = root
        self.axe = axe_source()
        self.checked: list[str] = []

    def open(self, path: str):
        self.driver.get(self.root + path)
        self.check()

    def check(self):
        # After a click that submits a form the next page may still be loading: a script run now
        # can land on the old document and the next one on the new. So wait for a loaded
        # document, inject axe and run it in one script, and start again if the page changed
        # meanwhile.
        for attempt in range(5):
            WebDriverWait(self.driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
            try:
                violations = self.driver.execute_async_script(
                    self.axe + ";const done = arguments[arguments.length - 1];"
                    "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(r => done(r.violations.map("
                    "v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))));", WCAG)
                break
            except WebDriverException:
                if attempt == 4:
                    raise
                time.sleep(0.2)
        path = self.driver.current_url.replace(self.root, "")
        assert violations == [], f"axe-core on {path}: {violations}"
        self.checked.append(path)

    def text(self) -> str:
        # one script reads the document that is there now: a found element can belong to the page
        # being replaced, which Chromium reports as a stale node or an "unhandled inspector error"
        return self.driver.execute_script("return document.body ? document.body.innerText : ''")

    def sign_in(self, email: str, password: str, next_path: str = ""):
        self.open("/login" + (f"?next={next_path}" if next_path else ""))
        self.driver.find_element(By.ID, "email").send_keys(email)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        self.check()

    def sign_out(self):
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
        WebDriverWait(self.driver, 10).until(lambda d: "You are signed out." in self.text())

    def tab_to(self, selector: str, limit: int = 80):
        """Presses Tab until the focused element matches `selector` (keyboard-only use)."""
        for _ in range(limit):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            if self.driver.execute_script("return document.activeElement.matches(arguments[0])", selector):
                return self.driver.switch_to.active_element
        raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_a_patient_books_sees_a_chart_and_downloads_their_record(site, browser):
    server, creds = site
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    assert browser.current_url == server.root + "/portal"
    assert "Next appointments" in pages.text()

    pages.open("/portal/records")
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    assert charts, "no chart on the records page"
    # each chart's values are also in a table
    first = browser.find_element(By.CSS_SELECTOR, "figure.chart")
    assert len(first.find_elements(By.CSS_SELECTOR, "circle.dot")) == len(first.find_elements(By.CSS_SELECTOR, "tbody tr"))

    # with the patient's own GP (the demo clinician), so that the clinician below sees it
    pages.open("/portal/appointments")
    gp = creds["practitioner"]["link"].split("/")[1]
    browser.find_element(By.CSS_SELECTOR, f"#practitioner option[value='{gp}']").click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/portal/appointments'] button").click()
    pages.check()
    slot = browser.find_element(By.CSS_SELECTOR, "input[name=slot]")
    chosen = slot.get_attribute("value")
    slot.click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/portal/appointments/book'] > button").click()
    pages.check()
    assert "Your appointment is booked." in pages.text()
    assert len(browser.find_elements(By.CSS_SELECTOR, "form[action$='/cancel']")) == 1

    # a message to the care team, with a photo
    photo = server.workdir / "rash.png"
    photo.write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="))
    pages.open("/portal/messages")
    browser.find_element(By.ID, "topic").send_keys("Rash on my arm")
    browser.find_element(By.ID, "text").send_keys("It itches since Monday.")
    browser.find_element(By.ID, "file").send_keys(str(photo))
    browser.find_element(By.CSS_SELECTOR, "form[action='/portal/messages'] button").click()
    pages.check()
    assert "Your message was sent." in pages.text() and "rash.png" in pages.text()

    # the download is the FHIR Bundle of the whole record
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    bundle = requests.get(server.root + "/portal/download/record.json", cookies=cookies, timeout=60)
    assert bundle.status_code == 200 and bundle.headers["Content-Disposition"].startswith("attachment")
    body = bundle.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    patients = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert len(patients) == 1
    assert any(e["resource"]["resourceType"] == "Appointment" for e in body["entry"])

    # another patient's pages give nothing: the console, another chart, made-up ids
    other = server.get(f"Patient?_count=10").json()["entry"]
    others = [e["resource"] for e in other if e["resource"]["id"] != patients[0]["id"]]
    families = [p["name"][0]["family"] for p in others if p.get("name")]
    for path in ["/console", f"/console/patients/{others[0]['id']}", "/portal/appointments/not-an-id/cancel"]:
        reply = requests.get(server.root + path, cookies=cookies, timeout=30, allow_redirects=False)
        assert reply.status_code in (403, 404, 405), (path, reply.status_code)
        assert not any(f in reply.text for f in families), path
    assert chosen.startswith(gp + "|")
    pages.sign_out()
    pages.open("/portal")
    assert "/login" in browser.current_url


def enrol_clinician(pages: Pages, doctor: dict[str, str]) -> None:
    """A clinician's first sign-in: password, the enrolment code, then the authenticator's
    secret and a first TOTP code; the recovery codes; then the console."""
    pages.sign_in(doctor["email"], doctor["password"])
    browser = pages.driver
    browser.find_element(By.ID, "enrolment_code").send_keys(doctor["enrolment_code"])
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    pages.check()
    secret = browser.find_element(By.XPATH, "//p[starts-with(., 'Key:')]/code").text.replace(" ", "")
    browser.find_element(By.ID, "code").send_keys(totp(secret))
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    pages.check()
    assert "Recovery codes" in pages.text()
    browser.find_element(By.LINK_TEXT, "Continue").click()
    WebDriverWait(browser, 10).until(lambda d: not d.title.startswith("Recovery codes"))
    pages.check()


def test_a_clinician_signs_in_with_totp_and_sees_the_booking(site, browser):
    server, creds = site
    # a booking by the patient (through the API, as any app would) for the clinician to find
    pages = Pages(browser, server.root)
    doctor = creds["practitioner"]
    enrol_clinician(pages, doctor)
    assert browser.current_url.startswith(server.root + "/console")

    # the week's schedule lists the patient's booking; the chart opens from it
    booked = server.get(f"Appointment?status=booked&actor={doctor['link']}&_count=50").json().get("entry", [])
    assert booked, "the patient's booking is not there"
    start = datetime.fromisoformat(booked[0]["resource"]["start"].replace("Z", "+00:00"))
    # (the week from the day before, in UTC, holds the day in New York)
    pages.open(f"/console?view=week&date={(start - timedelta(days=1)).date().isoformat()}")
    link = browser.find_element(By.CSS_SELECTOR, "main table a[href^='/console/patients/']")
    chart = link.get_attribute("href").replace(server.root, "")
    link.click()
    pages.check()
    assert "Vital signs" in pages.text() and "Visits" in pages.text()
    pages.open("/console/patients")
    assert browser.find_elements(By.CSS_SELECTOR, "main tbody tr")

    # the patient's message is in the team inbox; the clinician answers it
    pages.open("/console/inbox")
    browser.find_element(By.LINK_TEXT, "Rash on my arm").click()
    pages.check()
    assert "It itches since Monday." in pages.text()
    browser.find_element(By.ID, "text").send_keys("Please come in on Monday.")
    browser.find_element(By.CSS_SELECTOR, "form[enctype='multipart/form-data'] button").click()
    pages.check()
    assert "Please come in on Monday." in pages.text()

    # a scanned letter for the patient: its text read into a draft, checked and signed
    pages.open(chart + "/documents")
    letter = Path(__file__).resolve().parents[2] / "Tests" / "AITests" / "Fixtures" / "prescription.png"
    browser.find_element(By.ID, "image").send_keys(str(letter))
    browser.find_element(By.CSS_SELECTOR, "form[action$='/documents/scan'] button").click()
    pages.check()
    draft = browser.find_element(By.CSS_SELECTOR, "form[action$='/sign'] textarea")
    assert draft.get_attribute("value").startswith("Take 2 tablets of paracetamol 500 mg")
    draft.send_keys(" Checked against the letter.")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/sign'] button").click()
    pages.check()
    assert "The document was signed." in pages.text() and "Checked against the letter." in pages.text()


def test_the_booking_journey_by_keyboard_alone(site, browser):
    server, creds = site
    pages = Pages(browser, server.root)
    pages.open("/login?next=/portal/appointments")
    pages.tab_to("#email").send_keys(creds["patient"]["email"])
    pages.tab_to("#password").send_keys(creds["patient"]["password"] + Keys.ENTER)
    pages.check()
    assert browser.current_url.endswith("/portal/appointments")
    pages.tab_to("form[action='/portal/appointments'] button").send_keys(Keys.ENTER)
    pages.check()
    pages.tab_to("input[name=slot]").send_keys(Keys.SPACE)
    pages.tab_to("form[action='/portal/appointments/book'] > button").send_keys(Keys.ENTER)
    pages.check()
    assert "Your appointment is booked." in pages.text()
    # and cancelled again, by keyboard
    before = len(browser.find_elements(By.CSS_SELECTOR, "form[action$='/cancel']"))
    pages.tab_to("form[action$='/cancel'] button").send_keys(Keys.ENTER)
    pages.check()
    assert "The appointment is cancelled." in pages.text()
    assert len(browser.find_elements(By.CSS_SELECTOR, "form[action$='/cancel']")) == before - 1


def test_every_page_in_spanish_passes_axe_too(site, browser):
    server, creds = site
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    for path in ["/portal?lang=es", "/portal/appointments", "/portal/records", "/portal/download", "/portal/profile", "/portal/apps", "/portal/proxies"]:
        pages.open(path)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es"
    pages.open("/")
    pages.open("/status")


def test_an_admin_invites_a_patient_who_joins_and_an_auditor_finds_the_patients_actions(site, browser, mailbox):
    server, creds = site
    box, _ = mailbox
    pages = Pages(browser, server.root)
    # something of the patient's for the auditor to find
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    pages.open("/portal/records")
    pages.sign_out()
    enrol_clinician(pages, creds["admin"])
    assert browser.current_url.startswith(server.root + "/admin")
    invited = f"new.patient.{server.kind}@example.org"
    browser.find_element(By.ID, "email").send_keys(invited)
    browser.find_element(By.CSS_SELECTOR, "#role option[value='patient']").click()
    # (a record without an account: one account per person)
    others = [e["resource"]["id"] for e in server.get("Patient?_count=10").json()["entry"] if f"Patient/{e['resource']['id']}" != creds["patient"]["link"]]
    browser.find_element(By.ID, "link").send_keys(f"Patient/{others[-1]}")
    browser.find_element(By.CSS_SELECTOR, "form[action='/admin/users'] button").click()
    pages.check()
    assert "on its way by email" in pages.text()
    pages.open("/admin")
    assert "invited" in pages.text() and invited in pages.text()
    pages.open("/admin/clients")
    # alarms: silence one for an hour, then end the silence
    pages.open("/admin/alarms")
    assert len(browser.find_elements(By.CSS_SELECTOR, "main tr[class^=alarm-]")) == 22
    browser.find_element(By.CSS_SELECTOR, "#alarm option[value='ComponentDown']").click()
    browser.find_element(By.CSS_SELECTOR, "#minutes option[value='60']").click()
    browser.find_element(By.ID, "reason").send_keys("database upgrade")
    browser.find_element(By.CSS_SELECTOR, "form[action='/admin/alarms/silences'] button").click()
    pages.check()
    assert "database upgrade" in pages.text()
    browser.find_element(By.CSS_SELECTOR, "form[action$='/expire'] button").click()
    pages.check()
    assert "database upgrade" not in pages.text()
    pages.sign_out()

    # the patient opens the link from the email, chooses a password and signs in
    link = box.link(invited)
    assert link.startswith(server.root + "/account/password?token=")
    pages.open(link.replace(server.root, ""))
    assert browser.find_element(By.ID, "username").get_attribute("value") == invited
    browser.find_element(By.ID, "password").send_keys("orchid-lantern-5523-river")
    browser.find_element(By.ID, "confirm").send_keys("orchid-lantern-5523-river")
    browser.find_element(By.CSS_SELECTOR, "form[action='/account/password'] button").click()
    pages.check()
    assert "Your password is set." in pages.text()
    pages.sign_in(invited, "orchid-lantern-5523-river")
    assert browser.current_url == server.root + "/portal"
    assert "Next appointments" in pages.text()
    pages.sign_out()
    # the link worked once
    pages.open(link.replace(server.root, ""))
    assert "This link is not valid" in pages.text()

    # "forgot your password": the same answer for anyone, a link for the account's owner
    pages.open("/login")
    browser.find_element(By.LINK_TEXT, "Forgot your password?").click()
    pages.check()
    browser.find_element(By.ID, "email").send_keys(invited)
    browser.find_element(By.CSS_SELECTOR, "form[action='/account/reset'] button").click()
    pages.check()
    assert "If an account has this address" in pages.text()
    assert box.link(invited) != link

    # (the audit trail is for auditors: admins do not read it, as on the API)
    enrol_clinician(pages, creds["auditor"])
    patient_id = creds["patient"]["link"].split("/")[1]
    pages.open(f"/audit?patient={patient_id}")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "main tbody tr")]
    assert rows and any("page-view" in r for r in rows)


def test_a_patient_chooses_text_messages_on_their_profile_by_keyboard(site, browser):
    server, creds = site
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    pages.open("/portal/profile")
    pages.tab_to("#mobile").send_keys(Keys.CONTROL, "a")
    browser.switch_to.active_element.send_keys("+1 555 010 0177")
    pages.tab_to("input[name=bySMS]")
    if not browser.switch_to.active_element.is_selected():
        browser.switch_to.active_element.send_keys(Keys.SPACE)
    pages.tab_to("form[action='/portal/profile'] button").send_keys(Keys.ENTER)
    # (in the language the patient's record prefers, which the form keeps)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/portal/profile?done=profile.saved"))
    pages.check()
    patient = server.get(creds["patient"]["link"]).json()
    assert {"system": "phone", "use": "mobile", "value": "+15550100177"} in patient["telecom"]
    choices = next(e for e in patient["extension"] if e["url"].endswith("/notifications"))
    assert {"url": "sms", "valueBoolean": True} in choices["extension"]


def test_the_cli_invites_with_a_link_to_hand_over(site):
    server, creds = site
    out = server.cli("users", "invite", "--role", "auditor", "--email", f"second.auditor.{server.kind}@example.org", "--url", server.root)
    link = re.search(r"Invitation link \(shown once, valid 7 days\): (\S+)", out).group(1)
    assert re.search(r"Enrolment code .*: \S+", out)
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and f"second.auditor.{server.kind}@example.org" in page.text
    assert f"second.auditor.{server.kind}@example.org\tauditor\t-\tinvited" in server.cli("users", "list")


def test_a_page_hears_of_a_new_message_live(site, browser):
    server, creds = site
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    pages.open("/portal")
    assert not browser.find_element(By.ID, "live").is_displayed()
    unread = int(browser.find_element(By.CSS_SELECTOR, "#messages-h + p.count").text)
    reply = server.post("Communication", {
        "resourceType": "Communication", "status": "completed",
        "category": [{"coding": [{"system": "https://healthhub.dev/fhir/CodeSystem/message-type", "code": "general"}]}],
        "subject": {"reference": creds["patient"]["link"]}, "sender": {"reference": creds["practitioner"]["link"]},
        "topic": {"text": "Your results"}, "payload": [{"contentString": "All fine."}]})
    assert reply.status_code == 201
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "live").is_displayed())
    pages.check()
    browser.find_element(By.CSS_SELECTOR, "#live a").click()

    def counted(d):
        try:
            return int(d.find_element(By.CSS_SELECTOR, "#messages-h + p.count").text) == unread + 1
        except Exception:  # (the page is being reloaded)
            return False
    WebDriverWait(browser, 10).until(counted)


def test_a_patient_shares_their_record_by_keyboard_and_the_caregiver_sees_it(site, browser, mailbox):
    server, creds = site
    box, _ = mailbox
    carer = f"carer.{server.kind}@example.org"
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    pages.open("/portal/proxies")
    pages.tab_to("#proxy-name").send_keys("Carmen Ortiz")
    pages.tab_to("#proxy-email").send_keys(carer)
    pages.tab_to("#proxy-relationship").send_keys(Keys.DOWN)  # (the second: guardian)
    pages.tab_to("form[action='/portal/proxies'] > button").send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("/portal/proxies?done=proxies.emailed"))
    pages.check()
    assert "Carmen Ortiz" in pages.text() and carer in pages.text()
    pages.sign_out()

    # the caregiver accepts the invitation and sees the patient's portal, named in the header
    pages.open(box.link(carer).replace(server.root, ""))
    browser.find_element(By.ID, "password").send_keys("juniper-coast-7731-field")
    browser.find_element(By.ID, "confirm").send_keys("juniper-coast-7731-field")
    browser.find_element(By.CSS_SELECTOR, "form[action='/account/password'] button").click()
    pages.check()
    pages.sign_in(carer, "juniper-coast-7731-field")
    assert browser.current_url == server.root + "/portal"
    assert "Record of" in pages.text() and "Next appointments" in pages.text()
    pages.open("/portal/switch")
    pages.open("/portal/records")
    assert "Shared access" not in pages.text()  # (a proxy does not manage the patient's proxies)
    pages.sign_out()


def test_a_patient_reads_a_message_translated_and_hears_it(site, browser):
    """The care team writes in English; the patient's Spanish page offers the message in
    Spanish, labelled machine translation with doses and the medication as written, and the
    browser plays the original and the translation (espeak-ng WAV, decoded by Chromium)."""
    server, creds = site
    sent = server.post("Communication", {
        "resourceType": "Communication", "status": "completed", "language": "en",
        "category": [{"coding": [{"system": "https://healthhub.dev/fhir/CodeSystem/message-type", "code": "general"}]}],
        "subject": {"reference": creds["patient"]["link"]}, "sender": {"reference": creds["practitioner"]["link"]},
        "topic": {"text": "Your prescription"}, "payload": [{"contentString": "Take 500 mg of amoxicillin three times a day for 7 days."}]})
    assert sent.status_code == 201
    thread = sent.json()["id"]
    pages = Pages(browser, server.root)
    pages.sign_in(creds["patient"]["email"], creds["patient"]["password"])
    pages.open(f"/portal/messages/{thread}?lang=es")
    assert "Take 500 mg of amoxicillin" in pages.text()
    browser.find_element(By.LINK_TEXT, "Traducir al español").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".translation"))
    pages.check()
    block = browser.find_element(By.CSS_SELECTOR, ".translation")
    assert block.get_attribute("lang") == "es"
    assert "Traducción automática" in block.text and "(apertium)" in block.text
    assert "500 mg" in block.text and "amoxicillin" in block.text and "7" in block.text
    original = browser.find_element(By.CSS_SELECTOR, "ol.messages li div[lang='en']")
    assert "Take 500 mg of amoxicillin" in original.text
    # both players load: Chromium decodes the WAV and knows how long it is
    durations = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const players = [...document.querySelectorAll('ol.messages audio')];"
        "Promise.all(players.map(a => new Promise(ok => { a.addEventListener('loadedmetadata', () => ok(a.duration));"
        " a.addEventListener('error', () => ok(-1)); a.preload = 'metadata'; a.load(); }))).then(done);")
    assert len(durations) == 2 and all(d > 1 for d in durations), durations
    pages.open(f"/portal/messages/{thread}")
    assert not browser.find_elements(By.CSS_SELECTOR, ".translation")
