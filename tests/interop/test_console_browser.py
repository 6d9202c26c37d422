"""`rk console` in a real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): log in; see a topic created with `rk topics`; browse records produced with
`rk console-producer` (key, headers, a JSON value shown pretty-printed); produce one from
the page and read it back with `rk console-consumer`; watch a group's lag fall as a
consumer catches up; reset its offsets from the page (dry run first); and be refused
without a login and on a forged change without the CSRF token. Skipped when chromium or
chromedriver is not installed (scripts/setup-interop installs them where apt can)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import free_port, rk_bin, unique

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not (CHROMEDRIVER and CHROMIUM), reason="chromium and chromedriver are not installed")

PASSWORD = "console-secret"


def rk(*args: str, stdin: str | None = None) -> str:
    out = subprocess.run([rk_bin(), *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def start_console(bootstrap: str, *extra: str):
    """Starts `rk console` on a free port; returns (process, base URL) once it answers."""
    port = free_port()
    proc = subprocess.Popen([rk_bin(), "console", "--bootstrap-server", bootstrap, "--listen", f"127.0.0.1:{port}",
                             "--password", PASSWORD, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/login", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return proc, url


@pytest.fixture(scope="module")
def console(broker):
    proc, url = start_console(broker.bootstrap)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.implicitly_wait(5)
    yield d
    d.quit()


def login(d, url: str):
    from selenium.webdriver.common.by import By

    d.get(f"{url}/login")
    d.find_element(By.NAME, "username").send_keys("admin")
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, 10).until(lambda drv: "/login" not in drv.current_url)


def eventually(d, check, what: str, timeout: float = 10.0):
    """Retries `check(driver)` while the page changes (navigation makes elements stale)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def attempt(drv):
        try:
            return check(drv)
        except WebDriverException:
            return False

    try:
        return WebDriverWait(d, timeout).until(attempt)
    except Exception as e:
        raise AssertionError(f"timed out waiting for {what}") from e


def cells(d, table_id: str) -> list:
    from selenium.webdriver.common.by import By

    return [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in d.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]


def test_refused_without_login_and_without_csrf(console):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{console}/api/topics", timeout=5)
    assert e.value.code == 401
    bad = urllib.parse.urlencode({"username": "admin", "password": "wrong"}).encode()
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{console}/login", data=bad, timeout=5)
    assert e.value.code == 401
    # A logged-in session whose change lacks the CSRF token is refused (a forged form post).
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{console}/login", data=urllib.parse.urlencode({"username": "admin", "password": PASSWORD}).encode(), timeout=5)
    assert any(c.name == "rk_console" for c in jar)
    topics = opener.open(f"{console}/api/topics", timeout=10)
    assert topics.status == 200
    forged = urllib.parse.urlencode({"name": unique("forged"), "partitions": "1"}).encode()
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(f"{console}/c/default/topics", data=forged, timeout=5)
    assert e.value.code == 403


def test_topics_messages_and_produce(console, browser, broker):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    topic = unique("web")
    rk("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic, "--partitions", "1")
    rk("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--property", "parse.key=true",
       "--property", "parse.headers=true", stdin='source:cli,kind:json\tk1\t{"amount":42,"ok":true}\n')
    login(browser, console)
    browser.get(f"{console}/c/default")
    assert "Produce v" in browser.find_element(By.ID, "versions").text, "the cluster page shows the API versions"
    browser.get(f"{console}/c/default/topics")
    assert topic in [r[0] for r in cells(browser, "topics")]
    # The search box narrows the table in the page.
    browser.find_element(By.CSS_SELECTOR, "input.filter").send_keys(topic)
    visible = [r for r in browser.find_elements(By.CSS_SELECTOR, "#topics tbody tr") if r.is_displayed()]
    assert len(visible) == 1
    browser.get(f"{console}/c/default/topics/{topic}/messages?partition=0")
    rows = cells(browser, "messages")
    assert rows[0][2] == "k1" and '"amount":42' in rows[0][3] and "source=cli" in rows[0][4] and "kind=json" in rows[0][4], rows
    Select(browser.find_element(By.ID, "payload-format")).select_by_value("json")
    assert '"amount": 42' in cells(browser, "messages")[0][3], "JSON pretty-printed"
    Select(browser.find_element(By.ID, "payload-format")).select_by_value("hex")
    assert cells(browser, "messages")[0][3].startswith("7b 22"), "hex view"
    # Produce from the page; read it back with rk console-consumer.
    for s in browser.find_elements(By.TAG_NAME, "summary"):
        if "Produce" in s.text:
            s.click()
    browser.find_element(By.NAME, "key").send_keys("from-web")
    browser.find_element(By.NAME, "value").send_keys("hello from the browser")
    browser.find_element(By.NAME, "headers").send_keys("origin=console")
    browser.find_element(By.XPATH, "//button[text()='Send']").click()
    eventually(browser, lambda d: "from-web" in [r[2] for r in cells(d, "messages")], "the produced record in the browser")
    out = rk("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--from-beginning", "--max-messages", "2",
             "--property", "print.key=true", "--property", "print.headers=true", "--timeout-ms", "10000")
    assert "origin:console\tfrom-web\thello from the browser" in out, out


def test_group_lag_falls_and_offsets_reset_from_the_page(console, browser, broker):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    topic, group = unique("lag"), unique("g")
    rk("topics", "--bootstrap-server", broker.bootstrap, "--create", "--topic", topic, "--partitions", "1")
    rk("console-producer", "--bootstrap-server", broker.bootstrap, "--topic", topic, stdin="".join(f"m{i}\n" for i in range(20)))
    # The group reads 5 records and commits: lag 15.
    rk("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--group", group, "--from-beginning",
       "--max-messages", "5", "--timeout-ms", "15000")
    login(browser, console)
    browser.get(f"{console}/c/default/groups/{group}")
    assert browser.find_element(By.ID, "total-lag").text == "15"
    rk("console-consumer", "--bootstrap-server", broker.bootstrap, "--topic", topic, "--group", group, "--max-messages", "15", "--timeout-ms", "15000")
    browser.refresh()
    assert browser.find_element(By.ID, "total-lag").text == "0", "the lag fell as the consumer caught up"
    # Reset to the earliest offset: a dry run first, then the confirmation.
    for s in browser.find_elements(By.TAG_NAME, "summary"):
        if "Reset" in s.text:
            s.click()
    Select(browser.find_element(By.NAME, "scenario")).select_by_value("to-earliest")
    browser.find_element(By.XPATH, "//button[contains(text(),'Preview')]").click()
    plan = eventually(browser, lambda d: cells(d, "reset-plan"), "the dry run")
    assert plan == [[topic, "0", "20", "0"]], plan
    assert "Dry run" in browser.page_source
    browser.find_element(By.ID, "confirm-reset").click()
    eventually(browser, lambda d: "Offsets reset." in d.page_source, "the reset")
    described = rk("consumer-groups", "--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    assert f"{topic}" in described and " 0 " in described.replace("\t", " "), described
    browser.get(f"{console}/c/default/groups/{group}")
    assert browser.find_element(By.ID, "total-lag").text == "20"
    # Shift by +7 from the current position: a dry run shows 0 -> 7.
    for s in browser.find_elements(By.TAG_NAME, "summary"):
        if "Reset" in s.text:
            s.click()
    Select(browser.find_element(By.NAME, "scenario")).select_by_value("shift-by")
    browser.find_element(By.NAME, "value").send_keys("7")
    browser.find_element(By.XPATH, "//button[contains(text(),'Preview')]").click()
    assert eventually(browser, lambda d: cells(d, "reset-plan"), "the shift dry run") == [[topic, "0", "0", "7"]]


def test_scram_users_from_the_page_and_acls_without_an_authorizer(console, browser, broker):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    login(browser, console)
    browser.get(f"{console}/c/default/users")
    for s in browser.find_elements(By.TAG_NAME, "summary"):
        if "Add a user" in s.text:
            s.click()
    user = unique("web-user")
    browser.find_element(By.NAME, "user").send_keys(user)
    Select(browser.find_element(By.NAME, "mechanism")).select_by_value("SCRAM-SHA-512")
    browser.find_element(By.NAME, "password").send_keys("web-secret")
    browser.find_element(By.XPATH, "//button[text()='Save']").click()
    eventually(browser, lambda d: [user, "SCRAM-SHA-512", "8192", "Remove"] in cells(d, "users"), "the new user in the list")
    out = rk("configs", "--bootstrap-server", broker.bootstrap, "--describe", "--entity-type", "users", "--entity-name", user)
    assert "SCRAM-SHA-512=iterations=8192" in out, out
    # This broker enforces no ACLs: the page says so instead of failing.
    browser.get(f"{console}/c/default/acls")
    assert "No Authorizer is configured" in browser.find_element(By.CSS_SELECTOR, ".error").text


def test_live_charts_from_an_rk_brokers_metrics(browser, tmp_path):
    """With --metrics-url the cluster page plots throughput and lag from the broker's
    /metrics: producing while the page is open shows a non-zero input rate."""
    from selenium.webdriver.common.by import By

    from conftest import BrokerFactory

    factory = BrokerFactory(str(tmp_path))
    mport = free_port()
    try:
        b = factory({"metrics.listener": f"http://127.0.0.1:{mport}"})
        proc, url = start_console(b.bootstrap, "--metrics-url", f"http://127.0.0.1:{mport}")
        try:
            login(browser, url)
            browser.get(f"{url}/c/default")
            assert browser.find_element(By.ID, "chart-throughput")
            topic = unique("live")
            rk("topics", "--bootstrap-server", b.bootstrap, "--create", "--topic", topic)
            producer = subprocess.Popen([rk_bin(), "perf-test", "producer", "--bootstrap-server", b.bootstrap, "--topic", topic,
                                         "--num-records", "200000", "--record-size", "100", "--throughput", "20000"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                def rate_shown(d):
                    text = d.find_element(By.ID, "live-now").text
                    lines = d.find_elements(By.CSS_SELECTOR, "#chart-throughput polyline")
                    return lines and text.startswith("now ") and not text.startswith("now 0 in")

                eventually(browser, rate_shown, "a non-zero input rate on the live chart", timeout=20)
            finally:
                producer.kill()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        factory.close()


def test_read_only_mode_shows_and_changes_nothing(broker):
    """--read-only: no forms to change anything, and a change with a valid session and CSRF
    token is still refused."""
    import http.cookiejar
    import re

    proc, url = start_console(broker.bootstrap, "--read-only")
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{url}/login", data=urllib.parse.urlencode({"username": "admin", "password": PASSWORD}).encode(), timeout=5)
        page = opener.open(f"{url}/c/default/topics", timeout=10).read().decode()
        assert "Create a topic" not in page
        csrf = re.search(r'data-csrf="([0-9a-f]+)"', page).group(1)
        change = urllib.parse.urlencode({"csrf": csrf, "name": unique("ro"), "partitions": "1"}).encode()
        with pytest.raises(urllib.error.HTTPError) as e:
            opener.open(f"{url}/c/default/topics", data=change, timeout=5)
        assert e.value.code == 403 and b"read-only" in e.value.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
