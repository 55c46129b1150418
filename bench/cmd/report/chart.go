package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// A bar is one system's value in a panel.
type bar struct {
	Label string
	Value float64
	Text  string // printed after the bar
}

// A panel is one scenario: a subtitle and its bars.
type panel struct {
	Title string
	Bars  []bar
}

// A chart is a titled stack of panels of horizontal bars; each panel
// scales its bars to its own largest value.
type chart struct {
	Title     string
	Note      string // under the title, e.g. "higher is better"
	Highlight string // bars with this label are drawn in the accent colour
	Panels    []panel
}

const (
	chartWidth = 820
	labelWidth = 130
	textWidth  = 150
	barHeight  = 16
	barGap     = 6
	lineHeight = 15
	panelGap   = 14
	margin     = 14
)

var (
	white  = color.RGBA{255, 255, 255, 255}
	ink    = color.RGBA{30, 30, 30, 255}
	grey   = color.RGBA{110, 110, 110, 255}
	accent = color.RGBA{220, 110, 20, 255}
	// accentLight marks variants of the highlighted system ("cachette-bytes").
	accentLight = color.RGBA{240, 170, 100, 255}
	peer        = color.RGBA{90, 130, 180, 255}
	rule        = color.RGBA{220, 220, 220, 255}
)

func (c chart) height() int {
	h := margin + 2*lineHeight + panelGap
	for _, p := range c.Panels {
		h += lineHeight + 4 + len(p.Bars)*(barHeight+barGap) + panelGap
	}
	return h + margin
}

// render draws the chart.
func (c chart) render() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, c.height()))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	y := margin + lineHeight
	text(img, margin, y, c.Title, ink)
	y += lineHeight
	text(img, margin, y, c.Note, grey)
	y += panelGap
	barMax := chartWidth - 2*margin - labelWidth - textWidth
	for _, p := range c.Panels {
		y += lineHeight
		text(img, margin, y, p.Title, ink)
		fill(img, image.Rect(margin, y+3, chartWidth-margin, y+4), rule)
		y += 4
		top := 0.0
		for _, b := range p.Bars {
			top = max(top, b.Value)
		}
		for _, b := range p.Bars {
			y += barGap
			text(img, margin, y+barHeight-4, b.Label, ink)
			w := 0
			if top > 0 {
				w = int(float64(barMax) * b.Value / top)
			}
			w = max(w, 1)
			col := peer
			switch {
			case b.Label == c.Highlight:
				col = accent
			case c.Highlight != "" && strings.HasPrefix(b.Label, c.Highlight):
				col = accentLight
			}
			x0 := margin + labelWidth
			fill(img, image.Rect(x0, y, x0+w, y+barHeight), col)
			text(img, x0+w+6, y+barHeight-4, b.Text, ink)
			y += barHeight
		}
		y += panelGap
	}
	return img
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// writePNG renders c into path.
func (c chart) writePNG(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, c.render()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
