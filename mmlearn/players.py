"""Players for the notebooks: plain HTML with a little JavaScript, everything precomputed, so they need no
kernel. They still work in a saved notebook, on a projector with a frozen kernel, or in an exported page — once
the notebook is trusted (Jupyter runs no script of a notebook you did not run yourself; `make course` signs the
copies it executes). Until its script runs, a player shows `TRUST_HINT` with a button that trusts the notebook.
Each `*_player` function displays itself once and returns nothing; each `*_html` function returns the page.

`talking_face_player`, `attention_scrubber`, `sounding_objects_player`, `clip_gallery`, `mixture_player`.
Explorers, which compute each answer in a live kernel, are in `widgets.py`.
"""
from __future__ import annotations

import base64
import html
import io
import uuid

import numpy as np

def _png(frame: np.ndarray, scale: int) -> str:
    from PIL import Image

    image = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _wav(audio: np.ndarray, rate: int, peak: float | None = None) -> str:
    """A WAV as base64, scaled so that `peak` (default: the clip's own peak) plays at 90 % of full scale."""
    import soundfile as sf

    buffer = io.BytesIO()
    peak = max(float(np.abs(audio).max()) if peak is None else peak, 1e-6)
    sf.write(buffer, (audio / peak * 0.9).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def png_bytes(image: np.ndarray, scale: int = 4) -> bytes:
    """An image as PNG bytes, each pixel a scale × scale block (for ipywidgets' Image)."""
    return base64.b64decode(_png(np.asarray(image), scale))


TRUST_HINT = ("Nothing moves when you click or press play? Jupyter has not run the player's script: the notebook "
              "is not trusted yet. Trust it (this button, or \"Trust Notebook\" in JupyterLab's command palette, "
              "Ctrl+Shift+C), or run this cell.")


def _trust_hint(key: str) -> str:
    """The visible line every HTML/JS player starts with; its own script removes it (`_REMOVE_HINT`), so it
    stays only where the script did not run (an untrusted notebook). Its button runs JupyterLab's
    `notebook:trust` command (a command-linker attribute, which JupyterLab keeps in untrusted output and
    confirms with the reader before it runs); elsewhere the button does nothing and the sentence says what to do."""
    return (f'<div id="h-{key}" style="font-size:12px;color:#b00">{html.escape(TRUST_HINT)} '
            '<button data-commandlinker-command="notebook:trust">Trust this notebook</button></div>')


_REMOVE_HINT = 'document.getElementById("h-{key}").remove();'


def talking_face_html(frames: np.ndarray, audio: np.ndarray, rate: int = 16_000, fps: int = 25, scale: int = 6,
                      caption: str = "") -> str:
    """HTML of a player: press play on the audio and the face frames follow its clock (25 fps). No kernel needed,
    only a trusted notebook (until then `TRUST_HINT` shows and the face stays still)."""
    key = uuid.uuid4().hex[:8]
    images = ",".join(f'"data:image/png;base64,{_png(f, scale)}"' for f in frames)
    size = frames.shape[1] * scale
    return f"""
<div style="display:flex;gap:12px;align-items:center">
  <img id="face-{key}" src="data:image/png;base64,{_png(frames[0], scale)}" width="{size}" height="{size}"
       style="image-rendering:pixelated;border:1px solid #ccc"/>
  <div><div style="font-family:sans-serif;margin-bottom:6px">{html.escape(caption)}</div>
    <audio id="audio-{key}" controls src="data:audio/wav;base64,{_wav(audio, rate)}"></audio>
    <div style="font-family:sans-serif;font-size:12px;color:#666">press play: the mouth follows the sound</div>
    {_trust_hint(key)}</div>
</div>
<script>
(function() {{
  const frames = [{images}];
  const img = document.getElementById("face-{key}"), audio = document.getElementById("audio-{key}");
  function tick() {{
    const k = Math.min(frames.length - 1, Math.floor(audio.currentTime * {fps}));
    if (img.dataset.k != k) {{ img.src = frames[k]; img.dataset.k = k; }}
    if (!audio.paused) requestAnimationFrame(tick);
  }}
  audio.addEventListener("play", tick);
  audio.addEventListener("seeked", tick);
  {_REMOVE_HINT.format(key=key)}
}})();
</script>"""


def talking_face_player(frames: np.ndarray, audio: np.ndarray, rate: int = 16_000, fps: int = 25,
                        caption: str = "", scale: int = 6) -> None:
    """Show a talking-face player (HTML + audio). It returns nothing, so that a call as a cell's last line
    shows the player once."""
    from IPython.display import HTML, display

    display(HTML(talking_face_html(frames, audio, rate, fps, scale, caption)))


def attention_scrubber_html(image: np.ndarray, words: list[str], alphas, scale: int = 8, title: str = "") -> str:
    """HTML of a slider that scrubs through a caption's words and shows each word's attention map.
    Plain HTML + JavaScript: no kernel needed, only a trusted notebook (until then `TRUST_HINT` shows)."""
    from .viz import attention_rgb

    key = uuid.uuid4().hex[:8]
    frames = [_png(image, scale)] + [_png(attention_rgb(image, alphas[t], scale), 1) for t in range(len(words))]
    images = ",".join(f'"data:image/png;base64,{f}"' for f in frames)
    spans = " ".join(f'<span id="w-{key}-{t + 1}" style="cursor:pointer;padding:1px 3px" '
                     f'onclick="document.getElementById(\'s-{key}\').value={t + 1};'
                     f'document.getElementById(\'s-{key}\').dispatchEvent(new Event(\'input\'))">{html.escape(w)}</span>'
                     for t, w in enumerate(words))
    size = image.shape[0] * scale
    return f"""
<div style="font-family:sans-serif;display:flex;gap:14px;align-items:center">
  <img id="i-{key}" src="data:image/png;base64,{frames[0]}" width="{size}" height="{size}"
       style="image-rendering:pixelated;border:1px solid #ccc"/>
  <div style="max-width:420px"><div style="margin-bottom:6px"><b>{html.escape(title)}</b></div>
    <input id="s-{key}" type="range" min="0" max="{len(words)}" value="0" style="width:100%"/>
    <div style="font-size:15px;line-height:1.6">{spans}</div>
    <div style="font-size:12px;color:#666">drag the slider or click a word (0 = the image alone)</div>
    {_trust_hint(key)}</div>
</div>
<script>
(function() {{
  const frames = [{images}], n = {len(words)};
  const slider = document.getElementById("s-{key}"), img = document.getElementById("i-{key}");
  slider.addEventListener("input", function() {{
    const k = parseInt(slider.value);
    img.src = frames[k];
    for (let t = 1; t <= n; t++)
      document.getElementById("w-{key}-" + t).style.background = (t === k) ? "#ffd84d" : "";
  }});
  {_REMOVE_HINT.format(key=key)}
}})();
</script>"""


def attention_scrubber(image: np.ndarray, words: list[str], alphas, scale: int = 8, title: str = "") -> None:
    """Show the attention scrubber for one caption. It returns nothing, so that a call as a cell's last line
    shows it once."""
    from IPython.display import HTML, display

    display(HTML(attention_scrubber_html(image, words, alphas, scale, title)))



def sounding_objects_html(image: np.ndarray, names: list[str], maps: dict[tuple[bool, ...], np.ndarray],
                          audio: dict[tuple[bool, ...], np.ndarray], rate: int = 16_000, scale: int = 8,
                          title: str = "", peak: float | None = None) -> str:
    """HTML of a player: tick which objects of one scene sound, listen, and see the localization map move.

    names: one label per object; maps and audio: for every combination of ticks (a tuple of bools, one per
    object; all False = the place's ambience alone) the map over the cells (L,) and the sound (samples,);
    peak: the map value shown brightest, one for all maps (default: the highest of them), so a weak map looks weak.
    Everything is precomputed, so it needs no kernel, only a trusted notebook (its script). Until the script
    runs, a line says what to do (`TRUST_HINT`); the script removes it."""
    from .viz import attention_rgb

    key = uuid.uuid4().hex[:8]
    peak = max(float(np.max(m)) for m in maps.values()) if peak is None else peak
    code = lambda ticks: "".join("1" if t else "0" for t in ticks)  # noqa: E731
    frames = ",".join(f'"{code(t)}":"data:image/png;base64,{_png(attention_rgb(image, maps[t], scale, peak), 1)}"' for t in maps)
    loudest = max(float(np.abs(a).max()) for a in audio.values())  # one scale for all: a quiet mix sounds quiet
    sounds = ",".join(f'"{code(t)}":"data:audio/wav;base64,{_wav(audio[t], rate, loudest)}"' for t in audio)
    first = next(iter(maps))
    boxes = "".join(f'<label style="display:block"><input type="checkbox" id="c-{key}-{k}"{" checked" if first[k] else ""}/> '
                    f'{html.escape(n)}</label>' for k, n in enumerate(names))
    size = image.shape[0] * scale
    return f"""
<div style="font-family:sans-serif;display:flex;gap:14px;align-items:center">
  <img id="i-{key}" src="data:image/png;base64,{_png(attention_rgb(image, maps[first], scale, peak), 1)}" width="{size}"
       height="{size}" style="image-rendering:pixelated;border:1px solid #ccc"/>
  <div style="max-width:420px"><div style="margin-bottom:6px"><b>{html.escape(title)}</b></div>
    <div style="margin-bottom:6px">which objects sound?</div>{boxes}
    <audio id="a-{key}" controls src="data:audio/wav;base64,{_wav(audio[first], rate, loudest)}"></audio>
    <div style="font-size:12px;color:#666">bright cells = where the model hears the sound</div>
    {_trust_hint(key)}</div>
</div>
<script>
(function() {{
  const frames = {{{frames}}}, sounds = {{{sounds}}}, n = {len(names)};
  const img = document.getElementById("i-{key}"), audio = document.getElementById("a-{key}");
  function update() {{
    let code = "";
    for (let k = 0; k < n; k++) code += document.getElementById("c-{key}-" + k).checked ? "1" : "0";
    img.src = frames[code]; audio.src = sounds[code];
  }}
  for (let k = 0; k < n; k++) document.getElementById("c-{key}-" + k).addEventListener("change", update);
  {_REMOVE_HINT.format(key=key)}
}})();
</script>"""


def sounding_objects_player(image: np.ndarray, names: list[str], maps, audio, rate: int = 16_000, scale: int = 8,
                            title: str = "", peak: float | None = None) -> None:
    """Show the sounding-objects player for one scene (see `sounding_objects_html`). Needs no kernel."""
    from IPython.display import HTML, display

    display(HTML(sounding_objects_html(image, names, maps, audio, rate, scale, title, peak)))


def clip_gallery_html(groups: dict[str, list[tuple[np.ndarray, np.ndarray, str]]], rate: int = 16_000, scale: int = 3,
                      title: str = "", label: str = "show:") -> str:
    """HTML of a gallery: pick a group from a menu and see its clips, each an image, a caption and a player.

    groups: {name: [(image (H, W, 3) uint8, sound (samples,), caption), ...]}. Everything is embedded, so it
    needs no kernel, only a trusted notebook; until its script runs, the first group shows and a line says
    what to do (`TRUST_HINT`)."""
    key = uuid.uuid4().hex[:8]
    options = "".join(f'<option value="{g}">{html.escape(name)}</option>' for g, name in enumerate(groups))
    panels = []
    for g, clips in enumerate(groups.values()):
        cards = "".join(
            f'<div style="text-align:center;font-size:12px;width:{max(image.shape[1] * scale, 150)}px">'
            f'<img src="data:image/png;base64,{_png(image, scale)}" style="image-rendering:pixelated"/><br/>'
            f'{html.escape(caption)}<br/><audio controls style="width:150px" src="data:audio/wav;base64,{_wav(sound, rate)}">'
            f'</audio></div>' for image, sound, caption in clips)
        shown = "flex" if g == 0 else "none"
        panels.append(f'<div id="g-{key}-{g}" style="display:{shown};gap:10px;flex-wrap:wrap">{cards}</div>')
    return f"""
<div style="font-family:sans-serif"><div style="margin-bottom:6px"><b>{html.escape(title)}</b></div>
  <label>{html.escape(label)} <select id="s-{key}">{options}</select></label>
  {_trust_hint(key)}
  <div style="margin-top:8px">{"".join(panels)}</div>
</div>
<script>
(function() {{
  const menu = document.getElementById("s-{key}"), n = {len(groups)};
  menu.addEventListener("change", function() {{
    for (let g = 0; g < n; g++)
      document.getElementById("g-{key}-" + g).style.display = (String(g) === menu.value) ? "flex" : "none";
  }});
  {_REMOVE_HINT.format(key=key)}
}})();
</script>"""


def clip_gallery(groups, rate: int = 16_000, scale: int = 3, title: str = "", label: str = "show:") -> None:
    """Show the clip gallery (see `clip_gallery_html`). Needs no kernel."""
    from IPython.display import HTML, display

    display(HTML(clip_gallery_html(groups, rate, scale, title, label)))


def mixture_player_html(examples: list[tuple[str, np.ndarray, dict[str, np.ndarray]]], rate: int = 16_000,
                        fps: int = 25, scale: int = 3, title: str = "") -> str:
    """HTML of a cocktail-party player: pick a mixture from a menu, then play any of its tracks (the mixture, each
    model's estimate of each speaker, the references); the speakers' faces move with whatever is playing.

    examples: [(name, faces (S, T, H, W, 3) uint8, {track label: audio (samples,)}), ...]. The tracks of one
    example share one loudness scale (the loudest track plays at 90 % of full scale), so a quiet estimate sounds
    quiet. Everything is embedded: no kernel needed, only a trusted notebook (until then `TRUST_HINT` shows, and
    the first mixture's tracks still play, without the faces moving)."""
    key = uuid.uuid4().hex[:8]
    options = "".join(f'<option value="{e}">{html.escape(name)}</option>' for e, (name, _, _) in enumerate(examples))
    panels, frame_lists = [], []
    for e, (name, faces, tracks) in enumerate(examples):
        peak = max(float(np.abs(a).max()) for a in tracks.values())
        size = faces.shape[2] * scale
        imgs = "".join(f'<div style="text-align:center;font-size:12px"><img id="f-{key}-{e}-{k}" width="{size}" height="{size}" '
                       f'src="data:image/png;base64,{_png(faces[k][0], scale)}" style="image-rendering:pixelated;'
                       f'border:1px solid #ccc"/><br/>speaker {k + 1}</div>' for k in range(len(faces)))
        rows = "".join(f'<tr><td style="padding-right:8px">{html.escape(label)}</td><td><audio class="a-{key}-{e}" controls '
                       f'style="height:28px" src="data:audio/wav;base64,{_wav(audio, rate, peak)}"></audio></td></tr>'
                       for label, audio in tracks.items())
        shown = "flex" if e == 0 else "none"
        panels.append(f'<div id="p-{key}-{e}" style="display:{shown};gap:16px;align-items:flex-start">'
                      f'<div style="display:flex;gap:8px">{imgs}</div><table>{rows}</table></div>')
        frame_lists.append("[" + ",".join("[" + ",".join(f'"data:image/png;base64,{_png(f, scale)}"' for f in faces[k]) + "]"
                                          for k in range(len(faces))) + "]")
    return f"""
<div style="font-family:sans-serif"><div style="margin-bottom:6px"><b>{html.escape(title)}</b></div>
  <label>mixture: <select id="s-{key}">{options}</select></label>
  {_trust_hint(key)}
  <div style="margin-top:8px">{"".join(panels)}</div>
</div>
<script>
(function() {{
  const frames = [{",".join(frame_lists)}], menu = document.getElementById("s-{key}");
  menu.addEventListener("change", function() {{
    document.querySelectorAll("audio[class^='a-{key}-']").forEach(a => a.pause());
    for (let e = 0; e < frames.length; e++)
      document.getElementById("p-{key}-" + e).style.display = (String(e) === menu.value) ? "flex" : "none";
  }});
  frames.forEach(function(faces, e) {{
    const players = document.querySelectorAll(".a-{key}-" + e);
    players.forEach(function(audio) {{
      function tick() {{
        const t = Math.min(faces[0].length - 1, Math.floor(audio.currentTime * {fps}));
        faces.forEach(function(list, k) {{
          const img = document.getElementById("f-{key}-" + e + "-" + k);
          if (img.dataset.t != t) {{ img.src = list[t]; img.dataset.t = t; }}
        }});
        if (!audio.paused) requestAnimationFrame(tick);
      }}
      audio.addEventListener("play", function() {{
        players.forEach(other => {{ if (other !== audio) other.pause(); }});
        tick();
      }});
      audio.addEventListener("seeked", tick);
    }});
  }});
  {_REMOVE_HINT.format(key=key)}
}})();
</script>"""


def mixture_player(examples, rate: int = 16_000, fps: int = 25, scale: int = 3, title: str = "") -> None:
    """Show the cocktail-party player (see `mixture_player_html`). Needs no kernel."""
    from IPython.display import HTML, display

    display(HTML(mixture_player_html(examples, rate, fps, scale, title)))
