//! Turning observations of the page into candidate events, trigger by trigger.
//!
//! A trigger first recognises its kind of observation (a click inside its selector, a scroll
//! past a threshold not yet reached on this page, ...), which gives a candidate event with its
//! built-in variables; the engine then checks the trigger's conditions against it.

use crate::config::{Fire, Trigger, TriggerKind};
use crate::dom::{clean_text, Element};
use crate::event::split_url;
use crate::json::{obj, Value};
use crate::text::rsplit_at;

/// What the glue saw happen in the page.
pub enum Observation<'a> {
    /// The page loaded.
    PageView,
    /// A click; `target` is the element clicked (possibly a `<span>` inside a button).
    Click { target: &'a dyn Element },
    /// The page scrolled; `percent` is how far down the bottom of the viewport is.
    Scroll { percent: f64 },
    /// Something happened to a media element.
    Media(Media<'a>),
    /// A form was submitted, or (`start`) first had something typed or chosen in it on this
    /// page.
    Submit { form: &'a dyn Element, start: bool },
    /// An object was pushed to the data layer (or through `microfunnel.push`).
    DataLayer { push: &'a Value },
    /// The URL changed without a page load: `source` is `pushState`, `replaceState`,
    /// `popstate` or `hashchange`, `title` the document's title after it. `page_view` is
    /// whether it is a new (virtual) page: the URL changed other than in its fragment, or the
    /// fragment is a route (`#/cart`, `#!/cart`) rather than an anchor (`#reviews`); the loader
    /// decides, in one regex.
    Route { old_url: &'a str, new_url: &'a str, title: &'a str, source: &'a str, page_view: bool },
    /// An element has been visible as the visibility trigger `trigger` (its id) asks; `key`
    /// tells elements apart for the page's life.
    Visible { element: &'a dyn Element, trigger: &'a str, key: f64 },
    /// The timer trigger `trigger` (its id) went off for the `count`-th time on this page.
    Timer { trigger: &'a str, count: f64 },
    /// An uncaught error: its message, the script's URL and the line.
    Error { message: &'a str, source: &'a str, line: f64 },
}

/// A media element's state at a media event.
pub struct Media<'a> {
    /// Which media element this is, stable for the page's life.
    pub key: u32,
    /// What happened.
    pub action: MediaAction,
    /// The playback position in seconds.
    pub current_time: f64,
    /// The duration in seconds (NaN or infinite when unknown, as for live streams).
    pub duration: f64,
    /// The URL playing.
    pub source: &'a str,
    /// Who plays it: `html5` for `<video>` and `<audio>`, `youtube` for an embed.
    pub provider: &'a str,
    /// The video's title: as its player reports it, or the element's `title` or
    /// `aria-label`, read by the loader.
    pub title: &'a str,
    /// The element.
    pub element: &'a dyn Element,
}

/// The media events the engine distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaAction {
    /// Playback started or resumed.
    Play,
    /// The playback position moved (`timeupdate`).
    Progress,
    /// Playback reached the end.
    Ended,
    /// Playback paused (not at the end).
    Pause,
    /// The position was moved (`seeked`).
    Seek,
}

/// A recognised event before its trigger's conditions are checked.
pub struct Candidate<'a> {
    /// The event name.
    pub name: String,
    /// Built-in variables of this observation (`click.text`, `scroll.percent`, ...).
    pub vars: Value,
    /// The default params of the kind.
    pub params: Value,
    /// The element involved, for `matches_css`.
    pub element: Option<Box<dyn Element + 'a>>,
}

/// What a trigger remembers within one page: thresholds reached, media playbacks.
#[derive(Default)]
pub struct PageMemory {
    /// What fired once per page: scroll thresholds by percent, visible elements by key.
    once: Vec<(usize, f64)>,
    media: Vec<MediaMemory>,
}

struct MediaMemory {
    trigger: usize,
    key: u32,
    started: bool,
    reached: Vec<f64>,
}

impl PageMemory {
    /// Forgets what is once per page, for a new (virtual) page. Media playbacks go on.
    pub fn new_page(&mut self) {
        self.once.clear();
    }

    pub(crate) fn mark_once(&mut self, trigger: usize, what: f64) {
        self.once.push((trigger, what));
    }

    /// Whether `trigger` fired once for `what` on this page, or for anything when `what` is
    /// `None`.
    fn fired(&self, trigger: usize, what: Option<f64>) -> bool {
        self.once.iter().any(|&(t, w)| t == trigger && what.is_none_or(|what| w == what))
    }

    fn media(&mut self, trigger: usize, key: u32) -> &mut MediaMemory {
        let index = match self.media.iter().position(|m| m.trigger == trigger && m.key == key) {
            Some(i) => i,
            None => {
                self.media.push(MediaMemory { trigger, key, started: false, reached: Vec::new() });
                self.media.len() - 1
            }
        };
        &mut self.media[index]
    }
}

/// Why a trigger did not even get to its conditions, or the candidates it produced.
pub enum Recognised<'a> {
    /// This observation is not of the trigger's kind.
    OtherKind,
    /// Of the kind, but not for this trigger; the reason says why.
    No(String),
    /// Candidate events, in order.
    Yes(Vec<Candidate<'a>>),
}

/// Recognises `observation` for `trigger` (the `index`-th), updating the page memory for
/// thresholds and playbacks.
pub fn recognise<'a>(
    trigger: &Trigger,
    index: usize,
    observation: &Observation<'a>,
    memory: &mut PageMemory,
) -> Recognised<'a> {
    match (&trigger.kind, observation) {
        (TriggerKind::PageView, Observation::PageView)
        | (TriggerKind::PageView, Observation::Route { page_view: true, .. }) => {
            Recognised::Yes(vec![candidate(trigger, "page_view", Value::obj(), Value::obj(), None)])
        }
        (TriggerKind::HistoryChange, Observation::Route { old_url, new_url, source, .. }) => {
            // Conditions read these as `params.old_url`, `params.new_url`, `params.source`.
            let params = obj(vec![
                ("old_url", (*old_url).into()),
                ("new_url", (*new_url).into()),
                ("source", (*source).into()),
            ]);
            Recognised::Yes(vec![candidate(trigger, "history_change", Value::obj(), params, None)])
        }
        (TriggerKind::Click, Observation::Click { target }) => click(trigger, *target),
        (
            TriggerKind::Download { extensions, download_attribute },
            Observation::Click { target },
        ) => download(trigger, *target, extensions, *download_attribute),
        (TriggerKind::Scroll { percent }, Observation::Scroll { percent: now }) => {
            scroll(trigger, index, percent, *now, memory)
        }
        (TriggerKind::Video { progress_percent, pause_and_seek }, Observation::Media(media)) => {
            video(trigger, index, progress_percent, *pause_and_seek, media, memory)
        }
        (TriggerKind::Form { start }, Observation::Submit { form, start: now }) if start == now => {
            submit(trigger, *form, if *start { "form_start" } else { "form_submit" })
        }
        (TriggerKind::DataLayer { name }, Observation::DataLayer { push }) => {
            data_layer(trigger, name, push)
        }
        (
            TriggerKind::Visibility { percent, fire, .. },
            Observation::Visible { element, trigger: id, key },
        ) if trigger.id == *id => visible(trigger, index, *percent, *fire, *element, *key, memory),
        (TriggerKind::Timer { interval_ms, .. }, Observation::Timer { trigger: id, count })
            if trigger.id == *id =>
        {
            let params = obj(vec![
                ("timer_count", Value::Num(*count)),
                ("timer_interval_ms", Value::Num(*interval_ms)),
            ]);
            Recognised::Yes(vec![candidate(trigger, "timer", Value::obj(), params, None)])
        }
        (TriggerKind::JsError, Observation::Error { message, source, line }) => {
            let params = obj(vec![
                ("error_message", clean_text(message, 100).into()),
                ("error_source", (*source).into()),
                ("error_line", Value::Num(*line)),
            ]);
            Recognised::Yes(vec![candidate(trigger, "js_error", Value::obj(), params, None)])
        }
        _ => Recognised::OtherKind,
    }
}

fn visible<'a>(
    trigger: &Trigger,
    index: usize,
    percent: f64,
    fire: Fire,
    element: &dyn Element,
    key: f64,
    memory: &PageMemory,
) -> Recognised<'a> {
    let already = match fire {
        Fire::OncePerPage => memory.fired(index, None),
        Fire::OncePerElement => memory.fired(index, Some(key)),
        Fire::EveryTime => false,
    };
    if already {
        return Recognised::No("fired already".into());
    }
    // Marked by the engine once the conditions hold: an element that fails them must not use
    // up a once-per-page trigger.
    let params = obj(vec![
        ("element_id", element.attr("id").unwrap_or_default().into()),
        ("element_classes", element.attr("class").unwrap_or_default().into()),
        ("element_text", clean_text(&element.text(), 100).into()),
        ("percent_visible", Value::Num(percent)),
    ]);
    let element = Some(element.clone_box());
    Recognised::Yes(vec![candidate(trigger, "element_visible", Value::obj(), params, element)])
}

fn candidate<'a>(
    trigger: &Trigger,
    default_name: &str,
    vars: Value,
    params: Value,
    element: Option<Box<dyn Element + 'a>>,
) -> Candidate<'a> {
    let name = trigger.event.clone().unwrap_or_else(|| default_name.to_string());
    Candidate { name, vars, params, element }
}

fn matched(trigger: &Trigger, target: &dyn Element) -> Result<Box<dyn Element>, String> {
    let Some(selector) = &trigger.selector else {
        // Without a selector the element itself counts, except that a click inside a link or
        // button is the link's or the button's: nobody means the `<span>` inside.
        return Ok(target
            .closest("a[href], button, [role=button], input[type=submit], input[type=button]")
            .unwrap_or_else(|| target.clone_box()));
    };
    target.closest(selector).ok_or_else(|| format!("element is not inside `{selector}`"))
}

/// The `click.*` variables of an element.
fn click_vars(element: &dyn Element) -> Value {
    let url = element.url().or_else(|| element.closest("a[href]").and_then(|a| a.url()));
    obj(vec![
        ("click.text", clean_text(&element.text(), 100).into()),
        ("click.id", element.attr("id").unwrap_or_default().into()),
        ("click.classes", element.attr("class").unwrap_or_default().into()),
        ("click.url", url.unwrap_or_default().into()),
        ("click.element", element.tag().into()),
    ])
}

fn params_from(vars: &Value, names: &[(&str, &str)]) -> Value {
    let mut params = Value::obj();
    for (param, var) in names {
        params.set(param, vars.get(var).cloned().unwrap_or_default());
    }
    params
}

fn click<'a>(trigger: &Trigger, target: &dyn Element) -> Recognised<'a> {
    let element = match matched(trigger, target) {
        Ok(e) => e,
        Err(why) => return Recognised::No(why),
    };
    let vars = click_vars(&*element);
    let params = params_from(
        &vars,
        &[
            ("click_text", "click.text"),
            ("click_id", "click.id"),
            ("click_url", "click.url"),
            ("click_classes", "click.classes"),
            ("click_element", "click.element"),
        ],
    );
    Recognised::Yes(vec![candidate(trigger, "click", vars, params, Some(element))])
}

fn download<'a>(
    trigger: &Trigger,
    target: &dyn Element,
    extensions: &[String],
    download_attribute: bool,
) -> Recognised<'a> {
    let link = match trigger.selector.as_deref() {
        Some(selector) => target.closest(selector),
        None => target.closest("a[href]"),
    };
    let Some(link) = link else { return Recognised::No("not a link".into()) };
    let Some(url) = link.url() else { return Recognised::No("the link has no URL".into()) };
    let (_, path) = split_url(&url);
    let file_name = rsplit_at(path, b'/').map_or(path, |(_, name)| name);
    let file_name =
        link.attr("download").filter(|d| !d.is_empty()).unwrap_or(file_name.to_string());
    let extension = match rsplit_at(&file_name, b'.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => String::new(),
    };
    let by_extension = !extension.is_empty() && extensions.contains(&extension);
    let by_attribute = download_attribute && link.attr("download").is_some();
    if !by_extension && !by_attribute {
        return Recognised::No(format!("`{url}` is not a download (extension `{extension}`)"));
    }
    let mut vars = click_vars(&*link);
    vars.set("file.name", file_name.as_str().into());
    vars.set("file.extension", extension.as_str().into());
    let params = params_from(
        &vars,
        &[
            ("file_name", "file.name"),
            ("file_extension", "file.extension"),
            ("link_url", "click.url"),
            ("link_text", "click.text"),
            ("link_id", "click.id"),
        ],
    );
    Recognised::Yes(vec![candidate(trigger, "file_download", vars, params, Some(link))])
}

fn scroll<'a>(
    trigger: &Trigger,
    index: usize,
    thresholds: &[f64],
    now: f64,
    memory: &mut PageMemory,
) -> Recognised<'a> {
    // Every threshold passed fires, in order, even when one scroll jumped past several: a
    // visitor who jumps to the end has also passed the middle.
    let out: Vec<Candidate> = thresholds
        .iter()
        .filter(|&&t| now >= t && !memory.fired(index, Some(t)))
        .copied()
        .collect::<Vec<f64>>()
        .into_iter()
        .map(|t| {
            memory.mark_once(index, t);
            let vars = obj(vec![("scroll.percent", Value::Num(t))]);
            let params = obj(vec![("percent_scrolled", Value::Num(t))]);
            candidate(trigger, "scroll_depth", vars, params, None)
        })
        .collect();
    if out.is_empty() {
        return Recognised::No("no new threshold reached".into());
    }
    Recognised::Yes(out)
}

fn video<'a>(
    trigger: &Trigger,
    index: usize,
    thresholds: &[f64],
    pause_and_seek: bool,
    media: &Media<'_>,
    memory: &mut PageMemory,
) -> Recognised<'a> {
    if let Some(selector) = &trigger.selector {
        if !media.element.matches(selector) {
            return Recognised::No(format!("media element does not match `{selector}`"));
        }
    }
    let state = memory.media(index, media.key);
    let percent = if media.duration.is_finite() && media.duration > 0.0 {
        (media.current_time / media.duration * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let mut events = Vec::new();
    match media.action {
        MediaAction::Play if !state.started => {
            state.started = true;
            events.push(("start", percent));
        }
        MediaAction::Progress if state.started => {
            // Thresholds skipped by a seek forward count as reached: the visitor chose to be
            // past them. Each fires at most once per playback.
            for &t in thresholds {
                if percent >= t && !state.reached.contains(&t) {
                    state.reached.push(t);
                    events.push(("progress", t));
                }
            }
        }
        MediaAction::Ended if state.started => {
            state.started = false;
            state.reached.clear();
            events.push(("complete", 100.0));
        }
        // Reported only; thresholds and playbacks are the same with these on or off. A pause
        // at the end (browsers pause before `ended`) is not one.
        MediaAction::Pause if pause_and_seek && state.started && percent < 100.0 => {
            events.push(("pause", percent))
        }
        // Not a seek to the very start: a looping video makes one at every loop.
        MediaAction::Seek if pause_and_seek && state.started && percent >= 1.0 => {
            events.push(("seek", percent))
        }
        _ => {}
    }
    if events.is_empty() {
        return Recognised::No("nothing new in this playback".into());
    }
    let prefix = trigger.event.clone().unwrap_or_else(|| "video".to_string());
    let url = media.source;
    let title = media.title;
    let out = events
        .into_iter()
        .map(|(what, percent)| {
            let vars = obj(vec![
                ("video.status", what.into()),
                ("video.percent", Value::Num(percent)),
                ("video.title", title.into()),
                ("video.url", url.into()),
                ("video.current_time", Value::Num(media.current_time)),
                ("video.duration", Value::Num(media.duration)),
                ("video.provider", media.provider.into()),
            ]);
            let params = params_from(
                &vars,
                &[
                    ("video_title", "video.title"),
                    ("video_url", "video.url"),
                    ("video_percent", "video.percent"),
                    ("video_current_time", "video.current_time"),
                    ("video_duration", "video.duration"),
                    ("video_provider", "video.provider"),
                ],
            );
            let name = format!("{prefix}_{what}");
            Candidate { name, vars, params, element: None }
        })
        .collect();
    Recognised::Yes(out)
}

fn submit<'a>(trigger: &Trigger, form: &dyn Element, name: &str) -> Recognised<'a> {
    let form = match &trigger.selector {
        Some(selector) => match form.closest(selector) {
            Some(f) => f,
            None => return Recognised::No(format!("form does not match `{selector}`")),
        },
        None => form.clone_box(),
    };
    let vars = obj(vec![
        ("form.id", form.attr("id").unwrap_or_default().into()),
        ("form.name", form.attr("name").unwrap_or_default().into()),
        ("form.destination", form.url().unwrap_or_default().into()),
        ("form.element", form.tag().into()),
    ]);
    let params = params_from(
        &vars,
        &[
            ("form_id", "form.id"),
            ("form_name", "form.name"),
            ("form_destination", "form.destination"),
        ],
    );
    Recognised::Yes(vec![candidate(trigger, name, vars, params, Some(form))])
}

fn data_layer<'a>(trigger: &Trigger, name: &str, push: &Value) -> Recognised<'a> {
    let Some(event) = push.get("event").and_then(Value::as_str) else {
        return Recognised::No("the push has no `event`".into());
    };
    if event != name {
        return Recognised::No(format!("event `{event}` is not `{name}`"));
    }
    let params = Value::Obj(
        push.as_obj()
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| k != "event")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let mut c = candidate(trigger, event, Value::obj(), params, None);
    if trigger.event.is_none() {
        c.name = event.to_string();
    }
    Recognised::Yes(vec![c])
}
